"""Gunicorn's access log without personal data.

The access log writes every request's path, query string and referrer. Customers'
pages carry their signed link token in the path, and searches carry phone numbers in
the query, so each text atom goes through the same masking as the application's own
log records (dealership.pii). Used by the Dockerfile and scripts/fuzz.sh with
`--logger-class dealership.gunicorn_log.MaskingLogger`.
"""

from gunicorn.glogging import Logger

from .pii import mask_personal_data


class MaskingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_personal_data(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
