from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, Serializer
from rest_framework.views import APIView


class CursorPagination(pagination.CursorPagination):
    """`{"results": [...], "next": <url|null>, "previous": <url|null>}`, stable under inserts.

    A list view names it as its `pagination_class` (the views are APIViews, which never read the
    attribute themselves): drf-spectacular reads it to describe the envelope and the `cursor` and
    `page_size` parameters in the schema, and `paginated_response` pages with it.
    """

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: str | tuple[str, ...] = "pk"  # DRF takes a tuple of fields too

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        # DRF answers None when pagination is off; page_size is always set here.
        return super().paginate_queryset(queryset, request, view) or []

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # All three keys are always there (DRF's own schema requires only `results`).
        link = {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "description": "The adjacent page's URL; null at either end.",
        }
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a previous page's `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page ({self.page_size} by default, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size},
            },
        ]


def paginated_response(
    *,
    view: APIView,
    request: Request,
    queryset: QuerySet[Any],
    serializer_class: type[BaseSerializer[Any]],
    ordering: str = "pk",
) -> Response:
    """One cursor page of `queryset`, serialised. `ordering` must be unique (a cursor needs it)."""
    paginator = CursorPagination()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def filtered_page(
    *,
    view: APIView,
    request: Request,
    filters: type[Serializer[Any]],
    select: Callable[..., QuerySet[Any]],
    serializer_class: type[BaseSerializer[Any]],
    ordering: str = "pk",
) -> Response:
    """The list read of a view: the query string checked by `filters` (a 400 in the envelope when
    it is bad, before anything is read), its fields passed to `select` as keyword arguments, and
    one cursor page of what that returns (see `paginated_response`)."""
    query = filters(data=request.query_params)
    query.is_valid(raise_exception=True)
    return paginated_response(
        view=view,
        request=request,
        queryset=select(**query.validated_data),
        serializer_class=serializer_class,
        ordering=ordering,
    )
