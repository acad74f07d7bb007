"""Gunicorn's access log without personal data.

The access log writes every request's path, query string and referrer. Customers'
pages carry their signed link token in the path, and searches carry phone numbers in
the query, so each text atom goes through the same masking as the application's own
log records (dealership.pii). Used by the Dockerfile and scripts/fuzz.sh with
`--logger-class dealership.gunicorn_log.MaskingLogger`. Its error log's handlers carry the
personal-data filter too.
"""

from gunicorn.glogging import Logger

from .pii import PersonalDataFilter, mask_personal_data


class MaskingLogger(Logger):
    def setup(self, cfg):
        """Gunicorn's own error log gets the same filter as every handler of settings.LOGGING."""
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                    handler.addFilter(PersonalDataFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_personal_data(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
