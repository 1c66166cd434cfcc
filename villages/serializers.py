"""Input and output shapes for auth, areas, targets, users and devices. They never save."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from villages.models import Area, AreaTarget, Device, Role, User

CLIENT_ID_REGEX = r"^[A-Za-z0-9_\-]{1,64}$"


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    device_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:\-]{1,64}$",
        error_messages={"invalid": _("Use 1-64 letters, digits, or . _ : -")},
    )
    device_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class UserSerializer(serializers.ModelSerializer):
    areas = serializers.SerializerMethodField()
    # Not `format: email`: an official may have no address, and then it is "".
    email = serializers.CharField(read_only=True, help_text="An email address, or empty.")

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "email",
            "role",
            "areas",
            "is_active",
            "is_staff",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_areas(self, user: User) -> list[str]:
        # assignments are prefetched by the selectors; sorting here keeps the output stable.
        return sorted(a.area_id for a in user.assignments.all())


class LoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    device = serializers.IntegerField(help_text="Server id of this device (see /devices).")
    user = UserSerializer()


class AreaCodesField(serializers.ListField):
    """A list of area codes that must exist; returns the Area rows."""

    child = serializers.CharField(max_length=13)

    def to_internal_value(self, data: Any) -> list[Area]:
        codes = list(dict.fromkeys(super().to_internal_value(data)))
        areas = {a.code: a for a in Area.objects.filter(code__in=codes)}
        unknown = [c for c in codes if c not in areas]
        if unknown:
            raise serializers.ValidationError(_("Unknown area codes: %(codes)s.") % {"codes": ", ".join(unknown)})
        return [areas[c] for c in codes]


class UserCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$")
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)
    areas = AreaCodesField(allow_empty=True)
    is_active = serializers.BooleanField(default=True)


class UserUpdateSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, write_only=True, required=False, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    areas = AreaCodesField(required=False, allow_empty=True)
    is_active = serializers.BooleanField(required=False)


class DeviceSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    signed_in = serializers.BooleanField(read_only=True, help_text="True while the device holds a live token.")

    class Meta:
        model = Device
        fields = [
            "id",
            "user",
            "username",
            "device_id",
            "name",
            "app_version",
            "created_at",
            "last_login_at",
            "last_seen_at",
            "last_pull_at",
            "last_push_at",
            "pending_count",
            "revoked_at",
            "signed_in",
        ]
        read_only_fields = fields


class AreaSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent_id", allow_null=True)  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass

    class Meta:
        model = Area
        fields = ["code", "name", "level", "kind", "parent", "postal_code", "active", "source_decree"]
        read_only_fields = fields


class AreaTargetSerializer(serializers.ModelSerializer):
    area = serializers.CharField(source="area_id")
    updated_by = serializers.CharField(source="updated_by.username", default=None)

    class Meta:
        model = AreaTarget
        fields = ["area", "year", "target_workers", "budget_idr", "updated_by", "updated_at"]
        read_only_fields = fields


class AreaTargetInputSerializer(serializers.Serializer):
    target_workers = serializers.IntegerField(min_value=0, max_value=100_000_000)
    budget_idr = serializers.IntegerField(min_value=0, max_value=10**15, help_text="Integer Rupiah.")


class AreaListQuerySerializer(serializers.Serializer):
    parent = serializers.CharField(required=False, max_length=13)  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass
    level = serializers.ChoiceField(choices=["province", "regency", "district", "village"], required=False)
    q = serializers.CharField(required=False, max_length=100)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
