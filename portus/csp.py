"""The Content-Security-Policy middleware of django-csp, with the policy built once instead of per answer.

`CSPMiddleware.process_response` builds both headers (the policy and the report-only one) from the
settings on every response: ≈ 0.1 ms of Python each time, on the short way's hot endpoints a good part
of an answer. The header depends only on the settings unless a view changed the policy for its answer
(`@csp_update`, `@csp_replace`, `@csp`: attributes on the response) or the request used its nonce. In
that case, or when the settings object changes (a test overriding it), this subclass does exactly what
django-csp does; otherwise it sets the same header from the policy it built the first time. A test
compares the two header for header.
"""

from __future__ import annotations

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings

# What a view sets on its response to change the policy for that answer (django-csp's decorators).
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


class ConstantPolicyCSPMiddleware(CSPMiddleware):
    _built: tuple | None = None  # (policy setting, report-only setting, header, report-only header)

    def _constant(self) -> tuple[str, str, tuple, tuple]:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        policy_ro = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = self._built
        if built is None or built[0] is not policy or built[1] is not policy_ro:
            built = self._built = (policy, policy_ro, build_policy(), build_policy(report_only=True))
        return built[2], built[3], tuple((policy or {}).get("EXCLUDE_URL_PREFIXES", None) or ()), \
            tuple((policy_ro or {}).get("EXCLUDE_URL_PREFIXES", None) or ())

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, a) for a in _PER_RESPONSE):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        csp, csp_ro, prefixes, prefixes_ro = self._constant()
        if csp and getattr(response, "_csp_exempt", False) is False and HEADER not in response \
                and not request.path_info.startswith(prefixes):
            response[HEADER] = csp
        if csp_ro and getattr(response, "_csp_exempt_ro", False) is False and HEADER_REPORT_ONLY not in response \
                and not request.path_info.startswith(prefixes_ro):
            response[HEADER_REPORT_ONLY] = csp_ro
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

