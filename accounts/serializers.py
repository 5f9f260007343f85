from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.authentication import token_of
from core.api import StrictSerializer


class MeUpdateInput(StrictSerializer):
    full_name = serializers.CharField(max_length=150, allow_blank=True, trim_whitespace=True)


class MeTokenOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    scope = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class MeOutput(serializers.Serializer[Any]):
    """Who is calling, and how: ``auth_method`` is ``session`` or ``token``."""

    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_admin = serializers.BooleanField(source="is_staff")
    auth_method = serializers.SerializerMethodField()
    token = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=["session", "token"]))
    def get_auth_method(self, user: Any) -> str:
        return "token" if token_of(self.context["request"]) else "session"

    @extend_schema_field(MeTokenOutput(allow_null=True))
    def get_token(self, user: Any) -> dict[str, Any] | None:
        token = token_of(self.context["request"])
        return MeTokenOutput(token).data if token else None
