"""Notification bodies (通报), one model per category, built from the catalogue data.

The catalogue (``data/v1/categories.toml`` plus provincial overlays) says which fields each
category's ``details`` has; this module turns each entry into a strict pydantic model and
joins them in a union tagged by ``category``, so a province adds a category by editing data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, StrictBool, StrictInt, create_model

from message_schemas.catalog import Category, FieldSpec, get_catalog
from message_schemas.v1.types import (
    STRICT,
    Code,
    DivisionCode,
    EventDate,
    Remarks,
    StdDate,
    free_text,
)


def _field_type(spec: FieldSpec) -> Any:
    kind = spec.type
    if kind == "date":
        return StdDate
    if kind == "int":
        return Annotated[StrictInt, Field(ge=spec.min, le=spec.max)]
    if kind == "text":
        return free_text(spec.max_length or 2000, min_length=1)
    if kind == "bool":
        return StrictBool
    if kind == "division":
        return DivisionCode
    table = spec.code_table
    assert table is not None  # catalog.load_catalog rejected any other type
    if kind.startswith("list:"):
        return Annotated[list[Annotated[str, Code(table)]], Field(min_length=1, max_length=20)]
    return Annotated[str, Code(table)]


def _pascal(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("_"))


def _details_model(cat: Category) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for spec in cat.fields:
        typ = _field_type(spec)
        title = spec.label or spec.name
        if spec.required:
            fields[spec.name] = (typ, Field(title=title))
        else:
            fields[spec.name] = (typ | None, Field(default=None, title=title))
    model: type[BaseModel] = create_model(
        f"{_pascal(cat.code)}Details",
        __config__=STRICT,
        __doc__=f"{cat.label} / {cat.label_en}: {cat.description}",
        **fields,
    )
    return model


class NotificationBodyBase(BaseModel):
    """What every notification body has; the per-category models below narrow ``category``
    to one code and ``details`` to that category's model."""

    model_config = STRICT

    category: str = Field(title="通报事项 / category")
    event_date: EventDate = Field(title="事件日期 / event date")
    details: BaseModel
    remarks: Remarks | None = Field(default=None, title="备注 / remarks")


def _body_model(cat: Category, details: type[BaseModel]) -> type[NotificationBodyBase]:
    tag: Any = Literal[cat.code]  # a one-value literal built from data
    return create_model(
        f"{_pascal(cat.code)}NotificationBody",
        __base__=NotificationBodyBase,
        __doc__=f"通报：{cat.label} / notification: {cat.label_en}",
        category=(tag, Field(title="通报事项 / category")),
        details=(details, Field(title=f"{cat.label}详情 / details")),
    )


CATEGORIES: dict[str, Category] = dict(get_catalog().categories)
DETAILS_MODELS: dict[str, type[BaseModel]] = {
    code: _details_model(cat) for code, cat in CATEGORIES.items()
}
BODY_MODELS: dict[str, type[NotificationBodyBase]] = {
    code: _body_model(CATEGORIES[code], model) for code, model in DETAILS_MODELS.items()
}

if TYPE_CHECKING:
    # Type checkers see the common base; at run time it is the union tagged by category.
    NotificationBody = NotificationBodyBase
else:
    NotificationBody = Annotated[
        Union[tuple(BODY_MODELS.values())],  # noqa: UP007  # a union built from data
        Field(discriminator="category"),
    ]
