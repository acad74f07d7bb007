"""Gunicorn's access log without personal data.

The access log writes every request's path, query string and referrer. Customers'
pages carry their signed link token in the path, and searches carry phone numbers in
the query, so each text atom goes through the same masking as the application's own
log records (dealership.pii). Used by the Dockerfile and scripts/fuzz.sh with
`--logger-class dealership.gunicorn_log.MaskingLogger` (gunicorn_web.conf.py). Its error log's
handlers carry the personal-data filter too.

Gunicorn offers every request and response header and every WSGI variable as an atom
(`%({name}i)s`, `%({name}o)s`, `%({name}e)s`), some fifty strings a request; masking them
all cost about a millisecond of CPU a request, more than many pages' own work. Only the
header and variable atoms the log format names are kept (and masked); the others could
never be printed.
"""

import re

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
        named = _named_header_atoms(self.cfg.access_log_format)
        return {
            key: mask_personal_data(value) if isinstance(value, str) else value
            for key, value in atoms.items()
            if not key.startswith("{") or key in named
        }


_ATOM = re.compile(r"%\((\{[^}]*\}[ioe])\)")
_NAMED: dict[str, frozenset[str]] = {}


def _named_header_atoms(log_format: str) -> frozenset[str]:
    """The `{name}i/o/e` atoms a log format prints, lower-cased as gunicorn looks them up."""
    named = _NAMED.get(log_format)
    if named is None:
        named = _NAMED[log_format] = frozenset(
            atom.lower() for atom in _ATOM.findall(log_format or "")
        )
    return named
