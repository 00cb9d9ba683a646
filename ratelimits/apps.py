from django.apps import AppConfig


class RatelimitsConfig(AppConfig):
    name = "ratelimits"

    def ready(self) -> None:
        # Refuse a `rate_limit` section that cannot work at start-up, not on the first failed login.
        from portus.options import option
        from ratelimits.addresses import trusted_networks
        from ratelimits.services import check_options

        check_options()
        trusted_networks(option("rate_limit.trusted_proxies"))
