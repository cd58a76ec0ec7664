#!/usr/bin/env python3
"""Three assayd shards behind HAProxy (deploy/haproxy/make-config.sh) on loopback.

Teams alpha, beta and gamma live on shards 1, 2 and 3. Through HAProxy's one gRPC address (and its
HTTP address) the CLI and the Python client reach each team's shard by the x-assay-team header.
Alpha builds up a benchmark with fits, an audit, adaptive-testing sessions, a monitor and a
comparison; then it is moved to shard 2 (`assayd team export` from shard 1's database, `assayd
team import` into shard 2's, both servers running, and the map switched live through HAProxy's
admin socket) and everything it had reads back identical, field by field; it keeps writing on the
new shard, and beta, now beside it, still sees only its own. A stopped shard is taken out by the
health checks while the others go on.

Usage: shards_test.py --assayd B --assay B --pythonpath P --deploy DIR --math500 CSV
"""
import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def wait_for(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Shard:
    def __init__(self, assayd, directory, name):
        self.name, self.db = name, os.path.join(directory, f"{name}.db")
        self.log = os.path.join(directory, f"{name}.log")
        self.assayd = assayd
        self.process = None

    def create_team(self, team):
        out = subprocess.run([self.assayd, "--db", self.db, "team", "create", team],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def start(self):
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([self.assayd, "--listen", "127.0.0.1:0", "--db",
                                             self.db, "--http", "127.0.0.1:0"], stderr=log)

        def ports():
            text = open(self.log).read()
            grpc = re.search(r"listening on port (\d+)", text)
            http_port = re.search(r"HTTP/JSON API on \w+://[^ ]*:(\d+)/", text)
            return grpc and http_port and (int(grpc.group(1)), int(http_port.group(1)))
        self.grpc_port, self.http_port = wait_for(ports, f"{self.name} to listen")

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


class UnixHttp(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--assayd", "--assay", "--pythonpath", "--deploy", "--math500"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    sys.path[:0] = args.pythonpath.split(":")
    from assay_client import AssayClient, AssayError
    import grpc

    work = tempfile.mkdtemp(prefix="assay_shards_")
    shards = [Shard(args.assayd, work, f"shard{k}") for k in (1, 2, 3)]
    keys = {team: shard.create_team(team)
            for team, shard in (("alpha", shards[0]), ("beta", shards[1]), ("gamma", shards[2]))}
    for shard in shards:
        shard.start()
    shard_file, map_file = os.path.join(work, "shards"), os.path.join(work, "shards.map")
    with open(shard_file, "w") as f:
        for s in shards:
            f.write(f"{s.name} 127.0.0.1:{s.grpc_port} 127.0.0.1:{s.http_port}\n")
    with open(map_file, "w") as f:
        f.write("alpha shard1\nbeta shard2\ngamma shard3\n")
    grpc_sock, http_sock, admin_sock = (os.path.join(work, n)
                                        for n in ("grpc.sock", "http.sock", "admin.sock"))
    cfg = os.path.join(work, "haproxy.cfg")
    with open(cfg, "w") as f:
        subprocess.run([os.path.join(args.deploy, "haproxy", "make-config.sh"), shard_file,
                        map_file, f"unix@{grpc_sock}", f"unix@{http_sock}", admin_sock],
                       stdout=f, check=True)
    haproxy_log = open(os.path.join(work, "haproxy.log"), "w")
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stderr=haproxy_log,
                               stdout=haproxy_log)
    server = f"unix:{grpc_sock}"
    try:
        wait_for(lambda: os.path.exists(grpc_sock) and os.path.exists(admin_sock), "haproxy")

        def cli(team, *argv, check=True):
            run = subprocess.run([args.assay, "--server", server, "--team", team, "--token",
                                  keys[team], *argv], capture_output=True, text=True, timeout=120)
            if check and run.returncode != 0:
                raise AssertionError(f"assay {' '.join(argv)} ({team}): {run.stdout}{run.stderr}")
            return run

        # Each team reaches its own shard through the one address, by the CLI and by Python.
        for team in keys:
            me = json.loads(cli(team, "whoami", "--json").stdout)
            assert me["team"] == team, me
        clients = {team: AssayClient(server, token=keys[team], team=team) for team in keys}
        for team, c in clients.items():
            assert c.whoami()["team"] == team
        # Without the header a call goes to the first shard, where beta's key is unknown.
        bare = AssayClient(server, token=keys["beta"])
        try:
            bare.whoami()
            raise AssertionError("beta's key worked on the default shard")
        except AssayError as e:
            assert e.code == grpc.StatusCode.UNAUTHENTICATED, e

        # Alpha's data, built through HAProxy.
        bench = json.loads(cli("alpha", "benchmarks", "create", "MATH-500", "--json").stdout)["id"]
        cli("alpha", "upload", bench, args.math500)
        cli("alpha", "fits", "start", bench, "--wait")
        a = clients["alpha"]
        joint = a.call("BenchmarkService", "StartFit", benchmark_id=bench,
                       options={"method": "FIT_METHOD_JOINT"}, make_current=False)
        wait_for(lambda: a.fit(joint["id"])["state"] == "FIT_STATE_SUCCEEDED", "the second fit")
        audit = a.call("AuditService", "CreateAudit", display_name="moved",
                       config={"alpha": 0.05, "tau": 0.86})
        a.call("AuditService", "HandOutCases", audit_id=audit["id"],
               cases=[{"case_id": f"c{i}"} for i in range(40)])
        for i in range(30):
            a.call("AuditService", "SubmitLabel", audit_id=audit["id"], case_id=f"c{i}",
                   y=1.0 if i % 5 else 0.0)
        models = [row["model"] for row in a.leaderboard(bench, limit=2)]
        session = a.start_session(bench, "a-new-model", max_items=8)
        while not session.get("finished"):
            items = a.next_items(session["id"])
            if not items:
                break
            session = a.submit(session["id"], items[0], 1)
        open_session = a.start_session(bench, "another", max_items=30)
        a.next_items(open_session["id"], count=3)
        monitor = a.call("MonitorService", "CreateMonitor", display_name="prod",
                         config={"tau": 0.85, "alpha": 0.01})
        a.call("MonitorService", "SubmitScores", monitor_id=monitor["id"],
               scores=[0.9 if i % 3 else 0.5 for i in range(50)])
        comparison = a.create_comparison(bench, models[0], models[1], baseline_known=True)
        a.next_comparison_items(comparison["id"], count=4)

        def snapshot(c):
            def pages(service, method, rows, **fields):
                return c._pages(service, method, rows, **fields)
            out = {"keys": c.call("TeamService", "ListApiKeys", read_only=True),
                   "benchmarks": {}, "audits": {}, "sessions": {}, "monitors": {},
                   "comparisons": {}}
            for b in c.benchmarks():
                out["benchmarks"][b["id"]] = {
                    "benchmark": c.benchmark(b["id"]),
                    "fits": pages("BenchmarkService", "ListFits", "fits", benchmark_id=b["id"]),
                    "abilities": c.leaderboard(b["id"]),
                    "items": c.items(b["id"]),
                    "entries": pages("BenchmarkService", "ListBenchmarkItems", "items",
                                     benchmark_id=b["id"])}
            for x in c.audits():
                out["audits"][x["id"]] = {
                    "audit": c.audit(x["id"]),
                    "steps": pages("AuditService", "ListAuditSteps", "steps", audit_id=x["id"])}
            for x in pages("CatService", "ListSessions", "sessions"):
                out["sessions"][x["id"]] = {
                    "session": c.call("CatService", "GetSession", read_only=True,
                                      session_id=x["id"], view="CAT_SESSION_VIEW_FULL"),
                    "steps": c.call("CatService", "ListSessionSteps", read_only=True,
                                    session_id=x["id"])}
            for x in c.monitors():
                out["monitors"][x["id"]] = c.call("MonitorService", "GetMonitor", read_only=True,
                                                  monitor_id=x["id"])
            for x in c.comparisons():
                out["comparisons"][x["id"]] = c.comparison(x["id"])
            return out

        before = snapshot(a)
        assert len(before["benchmarks"]) == 1 and len(before["audits"]) == 1
        assert len(before["sessions"]) == 2 and len(before["monitors"]) == 1
        assert len(before["comparisons"]) == 1
        assert len(before["benchmarks"][bench]["fits"]) == 2
        beta_before = snapshot(clients["beta"])

        # The move: export from shard 1 and import into shard 2 (both running), then switch the
        # map live through HAProxy's admin socket.
        export = os.path.join(work, "alpha-export.db")
        subprocess.run([args.assayd, "--db", shards[0].db, "team", "export", "alpha", export],
                       check=True, capture_output=True)
        subprocess.run([args.assayd, "--db", shards[1].db, "team", "import", export],
                       check=True, capture_output=True)
        with socket.socket(socket.AF_UNIX) as admin:
            admin.connect(admin_sock)
            admin.sendall(f"set map {map_file} alpha shard2\n".encode())
            reply = admin.recv(4096).decode()
            assert reply.strip() == "", reply
        a.close()
        a = clients["alpha"] = AssayClient(server, token=keys["alpha"], team="alpha")
        # Alpha's old shard goes away: what alpha reads now can only come from shard 2.
        shards[0].stop()

        after = snapshot(a)
        if after != before:
            def diff(x, y, path=""):
                if isinstance(x, dict) and isinstance(y, dict):
                    for k in sorted(set(x) | set(y)):
                        diff(x.get(k), y.get(k), f"{path}.{k}")
                elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
                    for i, (u, v) in enumerate(zip(x, y)):
                        diff(u, v, f"{path}[{i}]")
                elif x != y:
                    print(f"differs at {path}: {str(x)[:200]} != {str(y)[:200]}")
            diff(before, after)
            raise AssertionError("alpha's data differs after the move")
        print("moved alpha: %d benchmark, %d fits, %d audit, %d sessions, %d monitor, "
              "%d comparison identical field by field" % (
                  len(after["benchmarks"]), len(after["benchmarks"][bench]["fits"]),
                  len(after["audits"]), len(after["sessions"]), len(after["monitors"]),
                  len(after["comparisons"])))
        # The moved team writes on its new shard; beta beside it sees only its own data.
        a.call("AuditService", "SubmitLabel", audit_id=audit["id"], case_id="c30", y=1.0)
        assert a.audit(audit["id"])["labelled"] == 31
        assert snapshot(clients["beta"]) == beta_before

        # The HTTP API through HAProxy, routed the same way.
        conn = UnixHttp(http_sock)
        conn.request("GET", "/v1/benchmarks", headers={"Authorization": f"Bearer {keys['alpha']}",
                                                       "x-assay-team": "alpha"})
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 200, body
        assert [b["id"] for b in body["benchmarks"]] == [bench], body

        # The stopped shard is taken out by the health checks (calls for it: UNAVAILABLE); the
        # others go on.
        def default_shard_refused():
            try:
                bare.call("TeamService", "WhoAmI", read_only=True)
                return False
            except AssayError as e:
                return e.code == grpc.StatusCode.UNAVAILABLE
        wait_for(default_shard_refused, "the stopped shard to be refused")
        assert clients["beta"].whoami()["team"] == "beta"
        assert clients["gamma"].whoami()["team"] == "gamma"
        print("ok: 3 shards behind HAProxy; CLI and Python routed by team; move verified")
    finally:
        haproxy.terminate()
        haproxy.wait(30)
        for shard in shards:
            if shard.process.poll() is None:
                shard.stop()


if __name__ == "__main__":
    main()
