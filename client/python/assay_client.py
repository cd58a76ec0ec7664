"""A thin Python client for the assay service, for dashboards and notebooks.

Uses the stubs generated from proto/ by Debian's protoc and grpc_python_plugin (the build writes
them to build/python; put that directory on PYTHONPATH) and Debian's python3-grpcio. Every result
is a plain dict or list of dicts with the .proto's field names (int64 values are Python ints).

    client = AssayClient("127.0.0.1:50051", token=os.environ["ASSAY_TOKEN"])
    for row in client.leaderboard("bm_...", limit=10):
        print(row["rank"], row["model"], row["theta"][0])
    for update in client.watch_audit("a_..."):
        print(update["audit"]["decision"])

Conventions as in the C++ client: a deadline on every call, the token sent as
`authorization: Bearer KEY`, a random request_id filled into every request that has one (so a
retried write is applied once), and retries of UNAVAILABLE only where a repeat is safe.
"""

import secrets
import time

import grpc
from google.protobuf import json_format

from assay.v1 import audit_pb2, audit_pb2_grpc
from assay.v1 import benchmarks_pb2, benchmarks_pb2_grpc
from assay.v1 import cat_pb2, cat_pb2_grpc
from assay.v1 import compare_pb2, compare_pb2_grpc
from assay.v1 import monitor_pb2, monitor_pb2_grpc
from assay.v1 import teams_pb2, teams_pb2_grpc

_MODULES = {
    "AuditService": (audit_pb2, audit_pb2_grpc),
    "BenchmarkService": (benchmarks_pb2, benchmarks_pb2_grpc),
    "CatService": (cat_pb2, cat_pb2_grpc),
    "CompareService": (compare_pb2, compare_pb2_grpc),
    "MonitorService": (monitor_pb2, monitor_pb2_grpc),
    "TeamService": (teams_pb2, teams_pb2_grpc),
}


def _retry_pushback(error):
    """The server's retry advice (trailing metadata grpc-retry-pushback-ms) in seconds: a delay,
    a negative number for "do not retry" (a capacity limit), or None when it gave none."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-retry-pushback-ms":
            try:
                return int(value) / 1000.0
            except ValueError:
                return -1.0
    return None


class AssayError(Exception):
    """A failed call: `code` is the grpc.StatusCode, the message is the server's."""

    def __init__(self, method, code, details):
        super().__init__(f"{method}: {details}")
        self.code = code
        self.details = details


def to_dict(message):
    """A protobuf message as a plain dict: .proto field names, defaults included, int64 as int."""
    out = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                    including_default_value_fields=True)
    return _int64_to_int(message.DESCRIPTOR, out)


def _int64_to_int(descriptor, value):
    # The proto3 JSON mapping writes 64-bit integers as strings; a dashboard wants numbers.
    for field in descriptor.fields:
        if field.name not in value:
            continue
        v = value[field.name]
        if field.type in (field.TYPE_INT64, field.TYPE_UINT64, field.TYPE_SINT64,
                          field.TYPE_FIXED64, field.TYPE_SFIXED64):
            value[field.name] = [int(x) for x in v] if isinstance(v, list) else int(v)
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry:
            if isinstance(v, list):
                value[field.name] = [_int64_to_int(field.message_type, x) for x in v]
            elif isinstance(v, dict):
                value[field.name] = _int64_to_int(field.message_type, v)
    return value


class AssayClient:
    """`team`: sent as `x-assay-team` metadata, so that a proxy in front of several assayd shards
    (deploy/haproxy/) routes the calls to the team's shard."""

    def __init__(self, server, token="", timeout=10.0, attempts=4, team=""):
        self._channel = grpc.insecure_channel(server)
        self._metadata = [("authorization", f"Bearer {token}")] if token else []
        if team:
            self._metadata.append(("x-assay-team", team))
        self._timeout = timeout
        self._attempts = attempts
        self._stubs = {}

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _stub(self, service):
        if service not in self._stubs:
            self._stubs[service] = getattr(_MODULES[service][1], f"{service}Stub")(self._channel)
        return self._stubs[service]

    def _request(self, service, method, fields):
        pb2 = _MODULES[service][0]
        method_desc = pb2.DESCRIPTOR.services_by_name[service].methods_by_name[method]
        request = json_format.ParseDict(fields, _message_class(pb2, method_desc.input_type)())
        if "request_id" in request.DESCRIPTOR.fields_by_name and not request.request_id:
            request.request_id = secrets.token_hex(16)
        return request

    def call(self, service, method, read_only=False, **fields):
        """Calls a unary method with `fields` (the request as keyword arguments, nested values as
        dicts) and returns the response as a dict. Raises AssayError."""
        request = self._request(service, method, fields)
        safe = read_only or "request_id" in request.DESCRIPTOR.fields_by_name
        for attempt in range(self._attempts):
            try:
                response = getattr(self._stub(service), method)(
                    request, timeout=self._timeout, metadata=self._metadata)
                return to_dict(response)
            except grpc.RpcError as e:
                pushback = _retry_pushback(e)
                transient = (e.code() == grpc.StatusCode.UNAVAILABLE or
                             (pushback is not None and pushback >= 0))
                if not (safe and transient and attempt + 1 < self._attempts):
                    raise AssayError(method, e.code(), e.details()) from None
                # Over a rate limit the server says when to retry; otherwise back off.
                time.sleep(pushback if pushback is not None else min(0.1 * 2 ** attempt, 2.0))

    def stream(self, service, method, **fields):
        """Yields the messages of a server-streaming method as dicts until it ends."""
        request = self._request(service, method, fields)
        try:
            for message in getattr(self._stub(service), method)(request,
                                                                 metadata=self._metadata):
                yield to_dict(message)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                raise AssayError(method, e.code(), e.details()) from None

    def _pages(self, service, method, rows, limit=None, **fields):
        token, out = "", []
        while limit is None or len(out) < limit:
            size = 1000 if limit is None else min(1000, limit - len(out))
            page = self.call(service, method, read_only=True, page_size=size, page_token=token,
                             **fields)
            out.extend(page[rows])
            token = page["next_page_token"]
            if not token:
                break
        return out

    # ---- the calls a dashboard makes most ----

    def whoami(self):
        return self.call("TeamService", "WhoAmI", read_only=True)

    def benchmarks(self, limit=None):
        return self._pages("BenchmarkService", "ListBenchmarks", "benchmarks", limit)

    def benchmark(self, benchmark_id):
        return self.call("BenchmarkService", "GetBenchmark", read_only=True,
                         benchmark_id=benchmark_id)

    def leaderboard(self, benchmark_id, limit=None, fit_id=""):
        """Abilities of the benchmark's current calibration (or `fit_id`), best first."""
        return self._pages("BenchmarkService", "ListAbilities", "abilities", limit,
                           benchmark_id=benchmark_id, fit_id=fit_id)

    def items(self, benchmark_id, limit=None, fit_id=""):
        return self._pages("BenchmarkService", "ListItemParams", "items", limit,
                           benchmark_id=benchmark_id, fit_id=fit_id)

    def start_fit(self, benchmark_id, method="auto", **options):
        """Starts a fit job and returns the Fit as a dict. `method` is "auto" (the shape rule:
        joint when models and items both number >= 100, else the marginal estimator of the small
        side), "joint", "marginal-items" or "marginal-models"; other keyword arguments are
        FitOptions fields (dims, ridge, tol, max_iter, ...). The finished Fit's "method" and
        "method_reason" say which estimator ran and why."""
        if method != "auto":
            options["method"] = "FIT_METHOD_" + method.upper().replace("-", "_")
        return self.call("BenchmarkService", "StartFit", benchmark_id=benchmark_id,
                         options=options)

    def fit(self, fit_id):
        return self.call("BenchmarkService", "GetFit", read_only=True, fit_id=fit_id)

    def start_session(self, benchmark_id, model, goal="accuracy", **options):
        """Starts an adaptive test of `model` on the benchmark's current calibration and returns the
        session as a dict. `goal` is "accuracy" (the default: full-benchmark accuracy by the
        model-assisted design, whose interval is honest on real benchmarks) or "ability" (theta with
        its SE by maximum information; the accuracy interval then assumes the 2PL); other keyword
        arguments are CatOptions fields (max_items, se_target, seed, ...). The session's options
        echo every default the server filled in."""
        options["goal"] = "CAT_GOAL_" + goal.upper()
        return self.call("CatService", "StartSession", benchmark_id=benchmark_id, model=model,
                         options=options)

    def next_items(self, session_id, count=1):
        """Hands out the next items (at most `count`); returns their ids."""
        return self.call("CatService", "NextItems", session_id=session_id,
                         count=count).get("items", [])

    def submit(self, session_id, item, successes, trials=1, next_count=0):
        """Records an item's outcome (and, with next_count, hands out the next items in the same
        durable step); returns the session."""
        return self.call("CatService", "SubmitOutcomes", session_id=session_id,
                         outcomes=[{"item": item, "successes": successes, "trials": trials}],
                         next_count=next_count)

    def create_comparison(self, benchmark_id, model_a, model_b, delta=None, baseline_known=False,
                          **options):
        """Creates a comparison of candidate `model_b` against baseline `model_a` on the benchmark's
        current calibration and returns it as a dict. `delta` is the tolerance as a fraction (None:
        the server's default, 0.01 = one point); with `baseline_known`, A's outcomes are its stored
        responses and only B is evaluated. Other keyword arguments are CompareOptions fields
        (alpha, max_items, design, seed, ...); the comparison's options echo every default."""
        if delta is not None:
            options["delta"] = delta
        options["baseline_known"] = baseline_known
        return self.call("CompareService", "CreateComparison", benchmark_id=benchmark_id,
                         model_a=model_a, model_b=model_b, options=options)

    def next_comparison_items(self, comparison_id, count=1):
        """Hands out the next items to evaluate (at most `count`); returns their ids."""
        return self.call("CompareService", "NextComparisonItems", comparison_id=comparison_id,
                         count=count, view="COMPARISON_VIEW_BASIC").get("items", [])

    def submit_comparison(self, comparison_id, outcomes, next_count=0):
        """Records outcomes, each a dict {"item", "b_successes", ["b_trials"], ["a_successes",
        "a_trials"] (both sampled)}, all or none; with next_count, hands out the next items in the
        same durable step. Returns the comparison (BASIC view)."""
        return self.call("CompareService", "SubmitComparisonOutcomes",
                         comparison_id=comparison_id, outcomes=outcomes, next_count=next_count,
                         view="COMPARISON_VIEW_BASIC")

    def comparison(self, comparison_id):
        return self.call("CompareService", "GetComparison", read_only=True,
                         comparison_id=comparison_id)

    def comparisons(self, limit=None):
        return self._pages("CompareService", "ListComparisons", "comparisons", limit,
                           view="COMPARISON_VIEW_BASIC")

    def watch_comparison(self, comparison_id):
        """The comparison now, then after every committed step, until it finishes."""
        return self.stream("CompareService", "WatchComparison", comparison_id=comparison_id)

    def run_comparison(self, comparison_id, evaluate, batch=1):
        """Runs a comparison to its end: `evaluate(item)` returns B's outcome (a number in
        [0, 1]) or, when both models are sampled, a pair (A's, B's). Returns the final comparison."""
        items = self.next_comparison_items(comparison_id, batch)
        state = {"finished": False}
        while items and not state.get("finished", False):
            outcomes = []
            for item in items:
                y = evaluate(item)
                if isinstance(y, tuple):
                    outcomes.append({"item": item, "a_successes": y[0], "b_successes": y[1]})
                else:
                    outcomes.append({"item": item, "b_successes": y})
            state = self.submit_comparison(comparison_id, outcomes, next_count=batch)
            items = state.get("pending_items", [])
        return self.comparison(comparison_id)

    def audits(self, limit=None):
        return self._pages("AuditService", "ListAudits", "audits", limit)

    def audit(self, audit_id):
        return self.call("AuditService", "GetAudit", read_only=True, audit_id=audit_id)

    def watch_audit(self, audit_id):
        """The audit now, then every committed change in order, until it is decided."""
        return self.stream("AuditService", "WatchAudit", audit_id=audit_id)

    def monitors(self, limit=None):
        return self._pages("MonitorService", "ListMonitors", "monitors", limit)

    def watch_monitor(self, monitor_id):
        return self.stream("MonitorService", "WatchMonitor", monitor_id=monitor_id)


def _message_class(pb2, descriptor):
    # The generated class for a message descriptor of this file (requests live beside services).
    return getattr(pb2, descriptor.name)
