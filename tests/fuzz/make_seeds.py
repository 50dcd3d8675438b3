#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/):
small, valid inputs of each decoder plus the near misses the hostile-input
tests use, so a bounded run starts from the shapes that matter. Run it again
after changing a decoder's format; the fuzzers' own finds are not committed.
Selector bytes follow each target's comment (tables in core::MirroredSpecs()
and core::WritableSpecs() order)."""
import base64, gzip, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
P = "6f1c2a4e-1b2c-4d3e-8f40-5a6b7c8d9e0f"
S = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
M = "11111111-2222-4333-8444-555555555555"
C = "99999999-8888-4777-8666-555555555555"


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64(values):
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).rstrip(b"=")


# json_body
for i, doc in enumerate([
        '{"name":"Shoot day","settings":{"theme":"dark","n":[1,2.5,-3e2,true,null]}}',
        '[[[[[[[[[[]]]]]]]]]]', '"\\u00e9\\ud83c\\udfac"', '{"a":"\\u0000"}', '{"a":1}\u0000{"b":2}',
        '{"t":"[[[[\\"{{{{"}', '1e400', '{"a":1,"a":2}', '{"\u00e9":"caf\u00e9"}']):
    write("json_body", f"seed{i}", doc)

# validation: selector = table index * 2 + (1 for PATCH); projects, shots, notes, tasks, equipment
shot = {"id": S, "project_id": P, "title": "Wide", "status": "done", "date": "2026-05-01",
        "start_time": "09:30", "location_lat": 48.85, "location_lng": 2.35,
        "equipment_ids": [M], "prepared_equipment_ids": []}
bodies = [
    (0, {"id": P, "name": "Feature"}), (1, {"name": "Renamed"}), (2, shot),
    (3, {"status": "pending", "date": None, "title": "T" * 10}),
    (4, {"id": M, "project_id": P, "title": "Note", "content": "x", "shot_id": S}),
    (6, {"id": M, "project_id": P, "category": "VFX", "title": "Comp", "priority": "critical",
         "due_date": "2026-02-29"}),
    (8, {"id": C, "name": "FX3", "category": "Camera", "price_per_day": 120.555, "quantity": 2,
         "rental_frequency": "week", "is_owned": False}),
    (9, {"price_per_day": -1, "quantity": 0, "status": "lost"}),
    (2, {"id": "not-a-uuid", "title": 5, "unknown": 1}),
]
for i, (sel, body) in enumerate(bodies):
    write("validation", f"seed{i}", bytes([sel]) + json.dumps(body).encode())

# list_cursor: selector = index in MirroredSpecs (projects, members, shots, notes, tasks,
# equipment, categories, brands, catalog)
cursors = [
    (0, ["2026-01-02T03:04:05.000006Z", P]), (1, ["2026-01-02T03:04:05Z", M]),
    (2, ["2026-05-01", "09:30", S]), (2, [None, None, S]), (2, ["2026-05-01", None, S]),
    (3, ["2026-01-02T03:04:05.5Z", M]), (4, ["todo", "high", "2026-03-01", M]),
    (4, ["done", "low", None, M]), (5, ["Camera", "FX3", C]), (6, ["Cameras", C]),
    (8, ["Alexa 35", C]), (2, ["x", "y"]),
]
for i, (sel, values) in enumerate(cursors):
    write("list_cursor", f"seed{i}", bytes([sel]) + b64(values))

# pull_position
for i, pos in enumerate(["", "1234.5", "1234.5@0123456789abcdef", "18446744073709551615.0",
                         "0.9223372036854775807", "1.9223372036854775808", "12.3@", "1..2"]):
    write("pull_position", f"seed{i}", pos)

# snapshot_position
for i, tok in enumerate(["c~~", "p~~", f"p~{P}~", f"P~{P}~", f"m~{P}~", f"s~{P}~" + b64(["2026-05-01", "09:30", S]).decode(),
                         f"t~{P}~", f"n~{P}~", "e~~" + b64(["Camera", "FX3", C]).decode(), "x~~", f"c~{P}~abc"]):
    write("snapshot_position", f"seed{i}", tok)

# sync_envelopes: selector 0/1 push body, 2 push results, 3 pull, 4 snapshot page, 5 digest
push = {"client_id": C, "mutations": [
    {"mutation_id": M, "table": "shots", "op": "create", "id": S, "fields": shot},
    {"mutation_id": "21111111-2222-4333-8444-555555555555", "table": "shots", "op": "update",
     "id": S, "fields": {"status": "pending"}},
    {"mutation_id": "31111111-2222-4333-8444-555555555555", "table": "notes", "op": "delete",
     "id": M, "fields": {}}]}
envelopes = [
    (0, push), (1, {"client_id": C, "mutations": [{"table": "users", "op": "drop"}]}),
    (2, {"results": [{"mutation_id": M, "status": "applied", "http_status": 200},
                     {"mutation_id": M, "status": "rejected", "http_status": 403, "code": "failed_precondition",
                      "detail": "viewers cannot write", "current": {"id": S}}]}),
    (3, {"changes": [{"table": "shots", "id": S, "op": "upsert", "data": shot},
                     {"table": "project_members", "id": f"{P}:{M}", "op": "upsert", "data": {},
                      "begins_access": True},
                     {"table": "notes", "id": M, "op": "delete", "data": None}],
         "cursor": "1234.5@0123456789abcdef", "has_more": False, "pending": False, "latest": "1234.5"}),
    (4, {"cursor": "77.1", "estimate": 3, "tables": [{"table": "shots", "rows": [shot]}],
         "next": f"m~{P}~"}),
    (5, {"cursor": "77.1", "exact": True, "tables": {"shots": {"count": 1, "digest": "ab" * 32}}}),
]
for i, (sel, doc) in enumerate(envelopes):
    write("sync_envelopes", f"seed{i}", bytes([sel]) + json.dumps(doc).encode())

# http_request
body = json.dumps({"name": "P"})
reqs = [
    "GET /api/shots?project_id=%s&status=done&limit=50&cursor=abc%%3D HTTP/1.1\r\nHost: x\r\n"
    "Authorization: Bearer t\r\n\r\n" % P,
    f"POST /api/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    f"Content-Length: {len(body)}\r\n\r\n{body}",
    "POST /api/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\n{\"nam\r\n8\r\ne\":\"P\"}\r\n0\r\n\r\n",
    "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "POST /api/projects HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "POST /api/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    "GET /api/projects/%7B%7D/members/a%2Fb+c HTTP/1.0\r\n\r\n",
    "BREW /pot HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
]
for i, r in enumerate(reqs):
    write("http_request", f"seed{i}", r)
gz = gzip.compress(json.dumps({"client_id": C, "mutations": []}).encode())
write("http_request", "seed_gzip",
      f"POST /api/sync/push HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
      f"Content-Length: {len(gz)}\r\n\r\n".encode() + gz)
bomb = gzip.compress(b"0" * 100000)
write("http_request", "seed_bomb",
      f"POST /api/sync/push HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
      f"Content-Length: {len(bomb)}\r\n\r\n".encode() + bomb)
