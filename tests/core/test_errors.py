"""The one error shape, and field paths named the way a JSON client would write them."""

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from core.api import exception_handler


class _Item(serializers.Serializer[Any]):
    name = serializers.CharField()


class _Input(serializers.Serializer[Any]):
    ids = serializers.ListField(child=serializers.UUIDField())
    items = _Item(many=True)
    title = serializers.CharField(max_length=3)


def _error_for(data):
    form = _Input(data=data)
    assert not form.is_valid()
    response = exception_handler(ValidationError(form.errors), {})
    assert response is not None
    assert response.status_code == 400
    return response.data["error"]


def test_list_children_are_named_with_brackets():
    error = _error_for({"ids": ["not-a-uuid"], "items": [{"name": "x"}], "title": "ok"})
    assert error["details"]["field"] == "ids[0]"
    assert error["message"].startswith("ids[0]: ")


def test_nested_serializer_fields_are_named_with_dots_inside_brackets():
    error = _error_for({"ids": [], "items": [{"name": "x"}, {}], "title": "ok"})
    assert error["details"]["field"] == "items[1].name"
    assert error["code"] == "required"


def test_every_problem_is_listed_and_the_first_leads():
    error = _error_for({"title": "too long"})
    assert set(error["details"]["fields"]) == {"ids", "items", "title"}
    assert error["code"] in {"required", "max_length"}
