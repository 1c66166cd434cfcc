from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView


class CursorPagination(pagination.CursorPagination):
    """`{"results": [...], "next": <url|null>, "previous": <url|null>}`, stable under inserts."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: str | tuple[str, ...] = "pk"  # DRF takes a tuple of fields too

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        # DRF answers None when pagination is off; page_size is always set here.
        return super().paginate_queryset(queryset, request, view) or []


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
