"""Remove the emulator's per-request rebuilds that dominated a profile of the local stack under load.

- JSONPath: moto parses every path with a new jsonpath_ng parser, which rebuilds its LALR tables each
  time (EventBridge input templates on every PutEvents; Step Functions InputPath/ResultPath/Parameters
  on every state). Parsed paths are immutable values: they are cached by their text.
- Step Functions parses the state machine definition (an ANTLR grammar, ~0.1 s of CPU) for every
  execution. The parsed program keeps no per-execution state (that lives in the execution's
  Environment), so executions of one definition share it.
- Step Functions' Lambda tasks (and other service integrations) create a new boto3 client for every
  call in server mode; one client per (service, region) serves them all (boto3 clients are thread-safe),
  signed with the stack's credentials (moto's own are fixed strings the emulator refuses).
  Lambda invocations of the stack's functions and plain PutEvents entries skip the HTTP round trip from
  the emulator to itself (`_DirectLambda`, `_DirectEvents`).
- The server finds each request's backend by trying every service's URL patterns and header rules under
  one lock. A signed request's backend follows from its host, credential scope and X-Amz-Target: the
  first answer for each such combination is remembered and later ones skip the search and the lock.
- DynamoDB Query on a table's own key reads every item of the table, then computes the size of every
  item of the partition before applying the sort-key condition: each query costs O(table). Here it
  reads the partition's items whose sort key meets the condition (what DynamoDB reads), so a tenant's
  webhook endpoints or ledger page cost the same with 10 jobs or 10 000. A string prefix (begins_with,
  every list of a tenant's items) is found by bisecting the partition's sorted keys, kept in order as
  items are put and deleted. Index queries are unchanged.
- SQS: every SendMessage reads the queue's attributes, every received message checks its retention
  through GetQueueAttributes, and those compute the approximate counts by asking each message in the
  queue for the current time (three times over): O(queue length) clock reads per message, so a backlog
  slows every send and receive. Here the counts read the clock once per pass, GetQueueAttributes
  computes the attributes once per call, and SendMessage (which reads one attribute) counts nothing.
- Every request looks its action's method up by listing the handler class's functions with
  `inspect.getmembers` and converting the action's name to snake_case: both are remembered, per class
  and per name (3 % of the emulator's time).
- DynamoDB answers: every attribute value of every item went through the generic response serializer,
  which tries the ten members of AttributeValue through its attribute pickers (a tenth of DynamoDB's
  time). Values of the plain kinds (S, N, BOOL, NULL, SS, NS, and M and L of those) are written as they
  are, which is what the serializer makes of them; anything else (B, BS, any other shape) is unchanged.
- DynamoDB expressions are parsed once per text, not on every request: local/moto_expressions.py.
Behaviour is unchanged; tests/unit/test_moto_contract.py checks the replaced names still exist.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import io
import re
import threading
from typing import Any

_JSONPATH_SITES = (
    ("jsonpath_ng", "parse"),
    ("jsonpath_ng.ext", "parse"),
    ("jsonpath_ng.ext.parser", "parse"),
    ("moto.stepfunctions.parser.asl.utils.json_path", "parse"),
    ("moto.stepfunctions.parser.asl.component.common.path.result_path", "parse"),
)
_CLIENT_SITES = (
    "moto.stepfunctions.parser.asl.utils.boto_client",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
)
_WORKER = "moto.stepfunctions.parser.backend.execution_worker"
_originals: dict[tuple[str, str], Any] = {}


def _cached_parse(original: Any) -> Any:
    cached = functools.lru_cache(maxsize=4096)(original)

    @functools.wraps(original)
    def parse(path: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(path, str):
            return original(path, *args, **kwargs)
        return cached(path)

    return parse


def _cached_client(original: Any) -> Any:
    from moto.core.models import botocore_stubber

    from .emulator_auth import stack_client

    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    @functools.wraps(original)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        if botocore_stubber.enabled:  # in-process mock: moto's own behaviour, uncached
            return original(region=region, service=service, state_credentials=state_credentials)
        with lock:
            key = (region, service)
            if key not in clients:
                clients[key] = stack_client(region, service)
                if service == "lambda":
                    clients[key] = _DirectLambda(clients[key])
                elif service == "events":
                    clients[key] = _DirectEvents(clients[key])
            return clients[key]

    return boto_client_for


class _DirectLambda:
    """A Lambda client for Step Functions tasks whose synchronous Invoke of a function the stack runs
    goes straight to that function's workers: the same call `LambdaSimpleBackend.invoke` makes at the
    end of an HTTP round trip through the emulator, minus the round trip (request signing, HTTP,
    werkzeug, moto's dispatch; a third of the emulator's time under load). Anything else goes to the
    emulator as before."""

    def __init__(self, client: Any):
        self._client = client

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        from .lambda_adapter import REGISTRY, function_name_of, invoke_for_payload

        name = function_name_of(str(parameters.get("FunctionName", "")))
        direct = (
            set(parameters) <= {"FunctionName", "Payload", "InvocationType"}
            and parameters.get("InvocationType", "RequestResponse") == "RequestResponse"
        )
        if not direct or name not in REGISTRY:
            return dict(self._client.invoke(**parameters))
        payload, function_error = invoke_for_payload(name, parameters.get("Payload"))
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        response["Payload"] = io.BytesIO(payload)
        if function_error:
            response["FunctionError"] = function_error
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


_EVENT_FIELDS = {"Source": str, "DetailType": str, "Detail": str, "EventBusName": str, "Resources": list}


class _DirectEvents:
    """An EventBridge client for Step Functions' PutEvents tasks (every job's terminal event) that hands
    the entries to the emulator's own EventBridge backend: what the PutEvents request handler does at the
    end of an HTTP round trip from the emulator to itself. Only plain entries (strings, and Resources as
    a list of strings; at most 10, to a bus that exists) go this way; anything else, and every other
    call, goes to the emulator as before, so its validation and errors are the emulator's."""

    def __init__(self, client: Any):
        self._client = client

    def put_events(self, **parameters: Any) -> dict[str, Any]:
        backend = self._backend()
        entries: list[Any] = parameters.get("Entries") or []
        plain = (
            backend is not None
            and set(parameters) == {"Entries"}
            and isinstance(entries, list)
            and 0 < len(entries) <= 10
            and all(_plain_entry(entry, backend) for entry in entries)
        )
        if not plain:
            return dict(self._client.put_events(**parameters))
        results = backend.put_events([dict(entry) for entry in entries])
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}

    def _backend(self) -> Any:
        import os

        from moto.events.models import events_backends
        from moto.iam.models import get_account_id_from

        credentials = self._client._request_signer._credentials
        if credentials is None:
            return None
        account = os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(credentials.access_key)
        return events_backends[account][self._client.meta.region_name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _plain_entry(entry: Any, backend: Any) -> bool:
    if not isinstance(entry, dict) or not set(entry) <= set(_EVENT_FIELDS):
        return False
    if any(not isinstance(value, _EVENT_FIELDS[name]) for name, value in entry.items()):
        return False
    if not all(isinstance(resource, str) for resource in entry.get("Resources", [])):
        return False
    return entry.get("EventBusName", "default").split("/")[-1] in backend.event_buses  # the backend's lookup


def _cached_entrypoint(original: Any) -> Any:
    programs: dict[str, Any] = {}
    lock = threading.Lock()

    @functools.wraps(original)
    def _get_evaluation_entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with lock:
            program = programs.get(definition)
        if program is None:
            program = original(self)
            with lock:
                programs[definition] = program
        return program

    return _get_evaluation_entrypoint


_DISPATCHER = "moto.moto_server.werkzeug_app"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([^/,]+)/([^/,]+)/aws4_request")


def _remembered_application(original: Any) -> Any:
    apps: dict[tuple[str, ...], Any] = {}

    @functools.wraps(original)
    def get_application(self: Any, environ: dict[str, Any]) -> Any:
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        path = environ.get("PATH_INFO", "")
        if scope is None or not isinstance(path, str) or path.startswith(("/moto-api", "/latest/")):
            return original(self, environ)
        key = (
            environ.get("HTTP_HOST", ""),
            scope.group(1),
            scope.group(2),
            environ.get("HTTP_X_AMZ_TARGET", ""),
        )
        app = apps.get(key)
        if app is None:
            app = apps[key] = original(self, environ)
        return app

    return get_application


_TABLE = "moto.dynamodb.models.table"


def _partition_query(original: Any) -> Any:
    from .moto_atomic import _LOCK

    @functools.wraps(original)
    def query(
        self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, *args: Any, **kwargs: Any
    ) -> Any:
        index_name = args[4] if len(args) > 4 else kwargs.get("index_name")
        simple = not index_name and hash_key is not None and self.range_key_attr
        if not simple or len(kwargs.get("range_key_conditions") or []) > 1:
            return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        prefix = _string_prefix(range_comparison, range_objs)
        with _LOCK:  # every DynamoDB operation takes it (moto_atomic): nobody sees the narrowed view
            partition = self.items.get(hash_key, {})
            if prefix is not None and self.range_key_type == "S":
                items = _items_with_prefix(self, hash_key, partition, prefix)
            else:
                items = list(partition.values())
                if range_comparison:
                    matches = _sort_key_condition(range_comparison, range_objs)
                    items = [i for i in items if i.range_key is not None and matches(i.range_key)]
            self.all_items = lambda: items  # moto's query reads the table through all_items()
            try:
                return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
            finally:
                del self.all_items

    return query


def _string_prefix(range_comparison: Any, range_objs: Any) -> str | None:
    objs = list(range_objs or [])
    if range_comparison == "BEGINS_WITH" and len(objs) == 1 and objs[0].type == "S":
        return str(objs[0].value)
    return None


_SORTED = "_avatarsmith_sorted_keys"  # on a Table: {hash key: its partition's sort keys, in order}


def _items_with_prefix(table: Any, hash_key: Any, partition: dict[Any, Any], prefix: str) -> list[Any]:
    """The partition's items whose (string) sort key starts with `prefix`, found by bisecting the
    partition's sorted keys: what DynamoDB reads, not the whole partition. The sorted keys are kept up to
    date by the put and delete wrappers below, and rebuilt if the partition's size ever disagrees."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    index = table.__dict__.setdefault(_SORTED, {})
    keys = index.get(hash_key)
    if keys is None or len(keys) != len(partition):
        keys = index[hash_key] = sorted(str(key.value) for key in partition)
    found = []
    for position in range(bisect.bisect_left(keys, prefix), len(keys)):
        if not keys[position].startswith(prefix):
            break
        found.append(partition[DynamoType({"S": keys[position]})])
    return found


def _tracking_put(original: Any) -> Any:
    @functools.wraps(original)
    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        keys = self.__dict__.get(_SORTED, {}).get(item.hash_key)
        if keys is not None and item.range_key is not None and item.range_key.type == "S":
            value = str(item.range_key.value)
            at = bisect.bisect_left(keys, value)
            if at == len(keys) or keys[at] != value:
                keys.insert(at, value)
        return item

    return put_item


def _tracking_delete(original: Any) -> Any:
    @functools.wraps(original)
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        item = original(self, hash_key, range_key)
        keys = self.__dict__.get(_SORTED, {}).get(hash_key)
        if item is not None and keys is not None and range_key is not None and range_key.type == "S":
            value = str(range_key.value)
            at = bisect.bisect_left(keys, value)
            if at < len(keys) and keys[at] == value:
                del keys[at]
        return item

    return delete_item


def _sort_key_condition(range_comparison: Any, range_objs: Any) -> Any:
    """`DynamoType.compare(range_comparison, range_objs)` with its operands cast once per query, not once
    per item; a string prefix (every list of a tenant's items) is a plain `startswith`."""
    if not range_comparison:
        return None
    prefix = _string_prefix(range_comparison, range_objs)
    if prefix is not None:
        return lambda key: key.type == "S" and key.value.startswith(prefix)
    from moto.dynamodb.comparisons import get_comparison_func

    function, values = get_comparison_func(range_comparison), [obj.cast_value for obj in range_objs or []]
    return lambda key: function(key.cast_value, *values)


_RESPONSES = "moto.core.responses"


def _per_class(original: Any) -> Any:
    names: dict[type, list[str]] = {}

    @functools.wraps(original)
    def method_names_from_class(clazz: Any) -> list[str]:
        if not isinstance(clazz, type):
            return list(original(clazz))
        if clazz not in names:
            names[clazz] = list(original(clazz))
        return names[clazz]

    return method_names_from_class


_SERIALIZE = "moto.core.serialize"
_PLAIN = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def _plain_attribute_value(value: Any) -> dict[str, Any] | None:
    """A DynamoDB attribute value in its wire form, or None when it holds anything but the plain kinds."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in _PLAIN:
        return {kind: inner} if type(inner) is _PLAIN[kind] else None
    if kind in ("SS", "NS"):
        return {kind: list(inner)} if type(inner) is list and all(type(x) is str for x in inner) else None
    if kind == "M" and type(inner) is dict:
        members = {}
        for name, member in inner.items():
            wire = _plain_attribute_value(member)
            if wire is None or type(name) is not str:
                return None
            members[name] = wire
        return {"M": members}
    if kind == "L" and type(inner) is list:
        elements = [_plain_attribute_value(element) for element in inner]
        return None if any(e is None for e in elements) else {"L": elements}
    return None


def _plain_attribute_values(original: Any) -> Any:
    @functools.wraps(original)
    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and self.operation_model.service_model.service_name
            in (
                "dynamodb",
                "dynamodbstreams",
            )
        ):
            wire = _plain_attribute_value(value)
            if wire is not None:
                self._default_serialize(serialized, wire, shape, key)
                return
        original(self, serialized, value, shape, key)

    return _serialize_type_structure


_SQS = "moto.sqs.models"


_SENDING = threading.local()  # depth of SQSBackend.send_message calls on this thread


def _sending(original: Any) -> Any:
    """SQSBackend.send_message reads the queue's attributes for one of them (ContentBasedDeduplication),
    and that property counts every message of the queue three times: under a backlog each send cost
    O(queue length). During a send the counts (which it never reads) are not computed."""

    @functools.wraps(original)
    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _SENDING.depth = getattr(_SENDING, "depth", 0) + 1
        try:
            return original(self, *args, **kwargs)
        finally:
            _SENDING.depth -= 1

    return send_message


def _queue_properties() -> dict[str, property]:
    from moto.core.utils import unix_time_millis

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self: Any) -> int:
        if getattr(_SENDING, "depth", 0):
            return 0  # inside SendMessage, which reads no count (see _sending)
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self: Any) -> int:
        if getattr(_SENDING, "depth", 0):
            return 0
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def visible_count(self: Any) -> int:
        if getattr(_SENDING, "depth", 0):
            return 0
        return len(messages(self))

    return {
        "messages": property(messages),
        "approximate_number_of_messages_delayed": property(delayed),
        "approximate_number_of_messages_not_visible": property(not_visible),
        "approximate_number_of_messages": property(visible_count),
    }


def _queue_attributes_once(original: Any) -> Any:
    @functools.wraps(original)
    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        queue = self.get_queue(queue_name)
        valid = {"All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES}
        if not attribute_names or "All" in attribute_names or not set(attribute_names) <= valid:
            return original(self, queue_name, attribute_names)  # moto's answer, and its errors
        current = queue.attributes  # once, where moto computes it three times per name
        return {n: current[n] for n in attribute_names if n in current and current[n] is not None}

    return get_queue_attributes


def install() -> None:
    from . import moto_expressions

    moto_expressions.install()
    if _originals:
        return
    sqs = importlib.import_module(_SQS)
    for name, replacement in _queue_properties().items():
        _originals[(_SQS, f"Queue.{name}")] = sqs.Queue.__dict__[name]
        setattr(sqs.Queue, name, replacement)
    _originals[(_SQS, "SQSBackend.get_queue_attributes")] = sqs.SQSBackend.get_queue_attributes
    sqs.SQSBackend.get_queue_attributes = _queue_attributes_once(sqs.SQSBackend.get_queue_attributes)
    _originals[(_SQS, "SQSBackend.send_message")] = sqs.SQSBackend.send_message
    sqs.SQSBackend.send_message = _sending(sqs.SQSBackend.send_message)
    responses: Any = importlib.import_module(_RESPONSES)
    _originals[(_RESPONSES, "method_names_from_class")] = responses.method_names_from_class
    responses.method_names_from_class = _per_class(responses.method_names_from_class)
    _originals[(_RESPONSES, "camelcase_to_underscores")] = responses.camelcase_to_underscores
    responses.camelcase_to_underscores = functools.lru_cache(maxsize=4096)(responses.camelcase_to_underscores)
    serializer = importlib.import_module(_SERIALIZE).BaseJSONSerializer
    structure = serializer._serialize_type_structure
    _originals[(_SERIALIZE, "BaseJSONSerializer._serialize_type_structure")] = structure
    serializer._serialize_type_structure = _plain_attribute_values(structure)
    table = importlib.import_module(_TABLE).Table
    _originals[(_TABLE, "Table.query")] = table.query
    table.query = _partition_query(table.query)
    _originals[(_TABLE, "Table.put_item")] = table.put_item
    table.put_item = _tracking_put(table.put_item)
    _originals[(_TABLE, "Table.delete_item")] = table.delete_item
    table.delete_item = _tracking_delete(table.delete_item)
    dispatcher = importlib.import_module(_DISPATCHER).DomainDispatcherApplication
    _originals[(_DISPATCHER, "DomainDispatcherApplication.get_application")] = dispatcher.get_application
    dispatcher.get_application = _remembered_application(dispatcher.get_application)
    worker = importlib.import_module(_WORKER).ExecutionWorker
    _originals[(_WORKER, "ExecutionWorker._get_evaluation_entrypoint")] = worker._get_evaluation_entrypoint
    worker._get_evaluation_entrypoint = _cached_entrypoint(worker._get_evaluation_entrypoint)
    for module_name, attribute in _JSONPATH_SITES:
        module = importlib.import_module(module_name)
        _originals[(module_name, attribute)] = getattr(module, attribute)
    parse_replacements: dict[int, Any] = {}
    for module_name, attribute in _JSONPATH_SITES:
        original = _originals[(module_name, attribute)]
        replacement = parse_replacements.setdefault(id(original), _cached_parse(original))
        setattr(importlib.import_module(module_name), attribute, replacement)
    base = importlib.import_module(_CLIENT_SITES[0])
    original_client = base.boto_client_for
    client_replacement = _cached_client(original_client)
    for module_name in _CLIENT_SITES:
        module = importlib.import_module(module_name)
        _originals[(module_name, "boto_client_for")] = module.boto_client_for
        setattr(module, "boto_client_for", client_replacement)  # noqa: B010 - a module attribute


def uninstall() -> None:
    from . import moto_expressions

    moto_expressions.uninstall()
    for (module_name, attribute), original in _originals.items():
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, original)
    _originals.clear()
