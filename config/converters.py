"""URL path converters: a path segment that cannot be an id never reaches a query (a NUL byte or
a 10,000-character segment would otherwise make PostgreSQL raise); it is simply a 404."""

from django.urls import register_converter


class ClientIdConverter:
    """Record ids: 1-64 of [A-Za-z0-9_-], as clients generate them."""

    regex = r"[A-Za-z0-9_-]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class AreaCodeConverter(ClientIdConverter):
    """Kemendagri codes: 17, 17.04, 17.04.01, 17.04.01.2001."""

    regex = r"[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{4})?)?)?"


register_converter(ClientIdConverter, "client_id")
register_converter(AreaCodeConverter, "area_code")
