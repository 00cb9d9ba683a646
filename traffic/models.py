"""A repository's pushes and pulls, counted per day: what its chart draws, read in one query of at most
30 rows whatever the size of the activity log."""

from __future__ import annotations

from django.db import models


class RepositoryDay(models.Model):
    """One repository's counts on one day (the instance's time zone). Pushes are the `repository.push`
    activities recorded that day (a tag now pointing at a new image, by an event or a catalog sync);
    pulls are the registry's pull events of a tag known here, as the tag's own pull count counts them."""

    repository = models.ForeignKey("namespaces.Repository", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    pushes = models.PositiveIntegerField(default=0)
    pulls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "day"], name="traffic_one_row_a_day")]

    def __str__(self) -> str:
        return f"{self.repository_id} {self.day}: {self.pushes} pushes, {self.pulls} pulls"
