"""A new instance greets its first visitor with the sign-up page; comment activities read as sentences."""

from activities.models import Activity
from portus.markdown import render


def test_first_visitor_of_an_empty_instance_is_sent_to_sign_up(client, db, internal_account):
    response = client.get("/")
    assert response.status_code == 302 and response.url.endswith("/users/sign_up")


def test_later_visitors_go_to_explore(client, owner):
    response = client.get("/")
    assert response.status_code == 302 and response.url.endswith("/explore")


def test_comments_are_recorded_with_the_keys_the_log_knows(owner, namespace):
    from namespaces.models import Repository
    from namespaces.social import comment_create, comment_delete

    repository = Repository.objects.create(namespace=namespace, name="app")
    comment = comment_create(repository=repository, author=owner, body="hello")
    comment_delete(comment=comment, by=owner)
    assert list(Activity.objects.filter(target_type="repository").values_list("key", flat=True)
                .order_by("id")) == ["comment.create", "comment.destroy"]


def test_markdown_drops_images():
    html = render('![pixel](https://tracker.example/p.gif) <img src="https://tracker.example/q.gif">')
    assert "<img" not in html
    assert "tracker.example/q.gif" not in html
