"""What the client knows about each method, and how it builds requests from keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message


class _Default:
    """The client's default timeout (``timeout=DEFAULT``); ``None`` means no deadline."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT"

    def __reduce__(self):
        return (_Default, ())


DEFAULT: Any = _Default()
#: Seconds (a float), ``None`` for no deadline, or ``DEFAULT`` for the client's default.
Timeout = Union[float, int, None, _Default]
#: An enum value: its number, its full name (``"SERVICE_EXCHANGE"``) or its short name (``"exchange"``).
EnumArg = Union[int, str]


@dataclass(frozen=True)
class Paging:
    """How a list method pages.

    ``kind`` is ``"token"`` (``page_token`` in the request, ``next_page_token`` in the
    response; ``""`` on the last page) or ``"cursor"`` (the last item's
    ``item_cursor_field`` goes in the request's ``cursor_field``; an empty page ends).
    """

    kind: str
    items_field: str
    cursor_field: str = "page_token"
    item_cursor_field: str = ""


# Methods that only read, by name: retried after UNAVAILABLE with back-off.
_READ_PREFIXES = ("Get", "List", "Search", "Ping", "Watch", "Export")
# Methods that change nothing on a second identical call.
_IDEMPOTENT = {
    # Writes an audit record per check, but a repeated check is what a data plane would do anyway.
    "CheckAccess",
    # Returns the latest checkpoint when the head has not moved.
    "CreateCheckpoint",
}
# Methods that read header.idempotency_key: the client gives every call one (unless the caller
# does), so that retrying it after UNAVAILABLE returns the original result instead of a duplicate.
KEYED_METHODS = {"CreateAccessRequest"}


@dataclass(frozen=True)
class MethodInfo:
    """One rpc of ``service Lockbox``."""

    name: str
    full_name: str
    python_name: str
    request_type: Any
    response_type: Any
    server_streaming: bool
    paging: Optional[Paging] = None
    #: Safe to send again after UNAVAILABLE (the client retries these with back-off).
    safe_to_retry: bool = field(init=False)
    #: Reads the idempotency key header.
    keyed: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(
            self, "safe_to_retry", self.name.startswith(_READ_PREFIXES) or self.name in _IDEMPOTENT or self.name in KEYED_METHODS
        )
        object.__setattr__(self, "keyed", self.name in KEYED_METHODS)


def _is_repeated(field) -> bool:
    # protobuf 4.21 has `label`; newer runtimes have `is_repeated` (and dropped `label`).
    repeated = getattr(field, "is_repeated", None)
    if repeated is not None:
        return bool(repeated)
    return field.label == FieldDescriptor.LABEL_REPEATED


def _message_class(descriptor):
    concrete = getattr(descriptor, "_concrete_class", None)
    if concrete is not None:
        return concrete
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


def _enum_value(descriptor, value):
    if isinstance(value, bool):
        raise TypeError("%s: a bool is not an enum value" % descriptor.full_name)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        by_name = descriptor.values_by_name
        if value in by_name:
            return by_name[value].number
        # Short names: "exchange" for SERVICE_EXCHANGE, "pending_customer" for
        # REQUEST_STATUS_PENDING_CUSTOMER. The prefix is what all the enum's names share.
        names = [v.name for v in descriptor.values]
        prefix = names[0]
        for name in names[1:]:
            while not name.startswith(prefix):
                prefix = prefix[:-1]
        candidate = prefix + value.upper()
        if candidate in by_name:
            return by_name[candidate].number
        raise ValueError(
            "%r is not a value of %s (use one of %s)"
            % (value, descriptor.full_name, ", ".join(n[len(prefix):].lower() for n in names))
        )
    raise TypeError("%s: expected an int or a name, got %r" % (descriptor.full_name, value))


def _coerce(field, value):
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _enum_value(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        message_type = field.message_type
        if isinstance(value, Message):
            return value
        if isinstance(value, Mapping):
            return build_message(_message_class(message_type), value)
        fields = message_type.fields
        if len(fields) == 1 and fields[0].name == "value":
            return _message_class(message_type)(value=value)
        raise TypeError("%s: expected a %s or a dict, got %r" % (field.full_name, message_type.name, value))
    return value


def build_message(cls, values: Mapping[str, Any]) -> Message:
    """A message of ``cls`` from keyword values: enums by name, wrappers from scalars, nested dicts."""
    return _apply(cls(), values)


def _apply(message: Message, values: Mapping[str, Any]) -> Message:
    cls = type(message)
    fields = cls.DESCRIPTOR.fields_by_name
    for name, value in values.items():
        if value is None:
            continue
        field_descriptor = fields.get(name)
        if field_descriptor is None:
            raise TypeError("%s has no field %r" % (cls.DESCRIPTOR.name, name))
        if _is_repeated(field_descriptor):
            if isinstance(value, (str, bytes, Mapping)):
                raise TypeError("%s is repeated: pass a list" % field_descriptor.full_name)
            items = [_coerce(field_descriptor, item) for item in value]
            del getattr(message, name)[:]
            getattr(message, name).extend(items)
        elif field_descriptor.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(message, name).CopyFrom(_coerce(field_descriptor, value))
        else:
            setattr(message, name, _coerce(field_descriptor, value))
    return message


def build_request(method: MethodInfo, request: Optional[Message], fields: Mapping[str, Any]) -> Message:
    """The request of a call: ``request`` as given, with the keyword ``fields`` set over it."""
    given = {name: value for name, value in fields.items() if value is not None}
    if request is None:
        return build_message(method.request_type, given)
    if not isinstance(request, method.request_type):
        raise TypeError("%s takes a %s, not a %s" % (method.name, method.request_type.__name__, type(request).__name__))
    if not given:
        return request
    merged = method.request_type()
    merged.CopyFrom(request)
    return _apply(merged, given)
