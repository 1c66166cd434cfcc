"""Auth, areas, targets, users and devices. Views validate input, call one function, serialise."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.contrib.auth import logout as session_logout
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import FieldsInvalid
from config.pagination import CursorPagination, filtered_page, paginated_response
from villages import selectors, services
from villages.auth import APP_VERSION_HEADER, client_address, official
from villages.models import Area, AreaTarget, DeviceToken, User
from villages.permissions import AdminOrSupervisor
from villages.scope import get_scoped_or_404, scope_of
from villages.serializers import (
    AreaListQuerySerializer,
    AreaSerializer,
    AreaTargetInputSerializer,
    AreaTargetSerializer,
    DeviceSerializer,
    LoginInputSerializer,
    LoginOutputSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)


class LoginView(APIView):
    # A stale token in the header must not stop a fresh login.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginInputSerializer, responses={200: LoginOutputSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.auth_login(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            device_id=data.validated_data["device_id"],
            device_name=data.validated_data["device_name"],
            app_version=request.META.get(APP_VERSION_HEADER, ""),
            address=client_address(request),
        )
        user = User.objects.prefetch_related("assignments").get(pk=result.user.pk)
        body = {
            "token": result.token,
            "expires_at": result.auth_token.expiry,
            "device": result.auth_token.device_id,
            "user": user,
        }
        return Response(LoginOutputSerializer(body).data)


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, DeviceToken):
            services.auth_logout(auth_token=request.auth)
        else:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer}, tags=["auth"])
    def get(self, request: Request) -> Response:
        user = User.objects.prefetch_related("assignments").get(pk=official(request).pk)
        return Response(UserSerializer(user).data)


class AreaListView(APIView):
    pagination_class = CursorPagination

    @extend_schema(parameters=[AreaListQuerySerializer], responses={200: AreaSerializer(many=True)}, tags=["areas"])
    def get(self, request: Request) -> Response:
        return filtered_page(
            view=self,
            request=request,
            filters=AreaListQuerySerializer,
            select=partial(selectors.area_list, user=official(request)),
            serializer_class=AreaSerializer,
            ordering="code",
        )


class AreaDetailView(APIView):
    @extend_schema(responses={200: AreaSerializer}, tags=["areas"])
    def get(self, request: Request, code: str) -> Response:
        area = get_scoped_or_404(Area.objects.all(), official(request), "code", code=code)
        return Response(AreaSerializer(area).data)


class AreaTargetListView(APIView):
    pagination_class = CursorPagination

    @extend_schema(responses={200: AreaTargetSerializer(many=True)}, tags=["areas"])
    def get(self, request: Request, code: str) -> Response:
        area = get_scoped_or_404(Area.objects.all(), official(request), "code", code=code)
        targets = AreaTarget.objects.filter(area=area).select_related("updated_by")
        return paginated_response(
            view=self, request=request, queryset=targets, serializer_class=AreaTargetSerializer, ordering="year"
        )


class AreaTargetDetailView(APIView):
    def get_permissions(self) -> Sequence[Any]:
        if self.request.method == "PUT":
            return [AdminOrSupervisor()]
        return super().get_permissions()

    @extend_schema(responses={200: AreaTargetSerializer}, tags=["areas"])
    def get(self, request: Request, code: str, year: int) -> Response:
        area = get_scoped_or_404(Area.objects.all(), official(request), "code", code=code)
        target = get_object_or_404(AreaTarget.objects.select_related("updated_by"), area=area, year=year)
        return Response(AreaTargetSerializer(target).data)

    @extend_schema(
        request=AreaTargetInputSerializer,
        responses={200: AreaTargetSerializer, 201: AreaTargetSerializer},
        tags=["areas"],
        description="Sets the target for a year (supervisors of the area, admins). Repeating it changes nothing.",
    )
    def put(self, request: Request, code: str, year: int) -> Response:
        area = get_scoped_or_404(Area.objects.all(), official(request), "code", code=code)
        data = AreaTargetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not 2000 <= year <= 2100:
            raise FieldsInvalid(fields={"year": [_("Use a year between 2000 and 2100.")]})
        target, created = services.area_target_set(actor=official(request), area=area, year=year, **data.validated_data)
        return Response(
            AreaTargetSerializer(target).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class UserListView(APIView):
    pagination_class = CursorPagination
    permission_classes = [AdminOrSupervisor]

    @extend_schema(responses={200: UserSerializer(many=True)}, tags=["users"])
    def get(self, request: Request) -> Response:
        users = selectors.users_in_scope(scope=scope_of(official(request)))
        return paginated_response(
            view=self, request=request, queryset=users, serializer_class=UserSerializer, ordering="username"
        )

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer}, tags=["users"])
    def post(self, request: Request) -> Response:
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(actor=official(request), **data.validated_data)
        user = User.objects.prefetch_related("assignments").get(pk=user.pk)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailView(APIView):
    permission_classes = [AdminOrSupervisor]

    def _get(self, request: Request, pk: int) -> User:
        return get_object_or_404(selectors.users_in_scope(scope=scope_of(official(request))), pk=pk)

    @extend_schema(responses={200: UserSerializer}, tags=["users"])
    def get(self, request: Request, pk: int) -> Response:
        return Response(UserSerializer(self._get(request, pk)).data)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer}, tags=["users"])
    def patch(self, request: Request, pk: int) -> Response:
        user = self._get(request, pk)
        data = UserUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.user_update(actor=official(request), user=user, data=data.validated_data)
        return Response(UserSerializer(self._get(request, pk)).data)


class DeviceListView(APIView):
    pagination_class = CursorPagination
    permission_classes = [AdminOrSupervisor]

    @extend_schema(
        parameters=[OpenApiParameter("user", int, description="Only this official's devices.")],
        responses={200: DeviceSerializer(many=True)},
        tags=["devices"],
    )
    def get(self, request: Request) -> Response:
        devices = selectors.device_list(user=official(request))
        user_id = request.query_params.get("user")
        if user_id is not None:
            devices = devices.filter(user_id=user_id if user_id.isdigit() else -1)
        return paginated_response(view=self, request=request, queryset=devices, serializer_class=DeviceSerializer)


class DeviceRevokeView(APIView):
    permission_classes = [AdminOrSupervisor]

    @extend_schema(request=None, responses={200: DeviceSerializer}, tags=["devices"])
    def post(self, request: Request, pk: int) -> Response:
        device = get_object_or_404(selectors.device_list(user=official(request)), pk=pk)
        services.device_revoke(actor=official(request), device=device)
        return Response(DeviceSerializer(selectors.device_list(user=official(request)).get(pk=pk)).data)
