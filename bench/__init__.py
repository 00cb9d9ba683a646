"""`manage.py bench`: the token realm, the notification inbox and the pages, measured side by side with a
bare signing app (the ceiling) in one run on one machine. See bench/README.md."""
