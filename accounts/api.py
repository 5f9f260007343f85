from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api_permissions import ReadOnlyForExportTokens
from accounts.models import User
from accounts.serializers import MeOutput, MeUpdateInput
from audit.services import Actor


class MeApi(APIView):
    """The caller: who they are and how they authenticated. PATCH changes the display name."""

    permission_classes = [ReadOnlyForExportTokens]

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        return Response(MeOutput(request.user, context={"request": request}).data)

    @extend_schema(request=MeUpdateInput, responses=MeOutput)
    def patch(self, request: Request) -> Response:
        data = MeUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update(
            actor=Actor.from_request(request),
            user=cast(User, request.user),
            full_name=data.validated_data["full_name"],
        )
        return Response(MeOutput(user, context={"request": request}).data)
