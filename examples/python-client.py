#!/usr/bin/env python3
"""A refresh-lab client written in Python: the reference client (src/client/reference.ts), ported.

The harness drives it through the "exec client" protocol: it starts this program once per browser
tab and talks newline-delimited JSON (UTF-8, one object per line) over stdin and stdout. Run the
conformance suite on it:

    refresh-lab run --client 'exec:python3 examples/python-client.py'

It is meant as a reference for writing a client in any language: the protocol below is all a
program needs to speak, and the refresh logic (fresh_access_token, refresh_tokens) is what an app's
authed HTTP wrapper should do. Standard library only; Python 3.8 or later.

The protocol:
  harness -> client  {"op":"init","baseUrl":"http://127.0.0.1:4000","tab":1}
                     {"op":"request","id":7,"method":"GET","path":"/api/users","body":null}
                     {"id":"s1","result":...}           the answer to one of our storage calls
                     {"op":"close"}                     exit now
  client -> harness  {"op":"ready"}                     once, after init
                     {"id":7,"result":<parsed JSON body>}
                     {"id":7,"error":{"status":401,"code":"TOKEN_EXPIRED","message":"..."}}
                                                        status 0 and NETWORK_ERROR: no HTTP answer
                     {"op":"storage.load","id":"s1"}    -> {"accessToken":...,"refreshToken":...}
                     {"op":"storage.save","id":"s2","tokens":{"accessToken":...,"refreshToken":...}}
                     {"op":"storage.clear","id":"s3"}   -> null
                     {"op":"logout"}                    the session is over (no answer)

Every request runs on its own thread, so answers go out in any order. Nothing but protocol lines
is written to stdout; diagnostics go to stderr.

What it guarantees (the same as the reference client):
- Single flight. However many threads get a 401 at once, one POST /api/auth/refresh is sent; the
  others wait for it and retry with its result (or reject with its error).
- Rotation saved first. Both the new access AND the new refresh token are saved before any request
  retries, so the next refresh spends the rotated token, never the old one.
- Late 401s. A 401 for a token that storage no longer holds (another thread or tab refreshed
  meanwhile) retries with the stored token instead of refreshing again.
- Retry once, intact. The failed request is sent again once, same method and same body.
- Network error is not a logout. If /refresh gets no answer (or a 5xx), the tokens stay and the
  request rejects; the next try refreshes again.
- Refused refresh = logout, once. A 401 from /refresh clears storage, sends {"op":"logout"} once,
  and rejects every request that waited on that refresh with its error.
"""

import http.client
import json
import os
import socket
import sys
import threading
import urllib.error
import urllib.request

SINGLE_FLIGHT = True

REFRESH_PATH = "/api/auth/refresh"
HTTP_TIMEOUT = 30  # seconds, per HTTP call

# The lab is reached directly: an HTTP(S)_PROXY from the environment would hide it (and its counts).
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_base_url = os.environ.get("REFRESH_LAB_URL", "").rstrip("/")


class ApiError(Exception):
    """What a request rejects with: the HTTP status and the server's error code, or 0/NETWORK_ERROR."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @staticmethod
    def from_response(status, body):
        """The error of a failed answer, whose body may or may not be the {"error":{...}} envelope."""
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        message = error.get("message")
        return ApiError(
            status,
            code if isinstance(code, str) else "HTTP_%d" % status,
            message if isinstance(message, str) else "the server answered %d" % status,
        )


# ---------------------------------------------------------------------------------------------
# The harness link: serialized writes, storage calls that wait for their answer.
# ---------------------------------------------------------------------------------------------

_write_lock = threading.Lock()


def send_line(message):
    """Writes one protocol line. ASCII-escaped JSON, so it is valid UTF-8 whatever the strings hold."""
    data = (json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n").encode("utf-8")
    with _write_lock:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except (BrokenPipeError, ValueError, OSError):
            os._exit(0)  # the harness is gone


class _PendingCall:
    def __init__(self):
        self.done = threading.Event()
        self.result = None
        self.error = None


_calls_lock = threading.Lock()
_pending = {}  # storage call id -> _PendingCall
_next_call = 0


def _storage_call(op, **fields):
    """Sends a storage call and blocks until the reader thread hands over its answer."""
    global _next_call
    call = _PendingCall()
    with _calls_lock:
        _next_call += 1
        call_id = "s%d" % _next_call
        _pending[call_id] = call
    send_line(dict(op=op, id=call_id, **fields))
    call.done.wait()
    if call.error is not None:
        raise ApiError(0, "STORAGE_ERROR", "%s failed: %s" % (op, json.dumps(call.error)))
    return call.result


def _answer_storage_call(message):
    with _calls_lock:
        call = _pending.pop(message.get("id"), None)
    if call is None:
        log("an answer for an unknown storage call: %r" % (message.get("id"),))
        return
    call.result = message.get("result")
    call.error = message.get("error")
    call.done.set()


def storage_load():
    """(accessToken, refreshToken), either of them None."""
    tokens = _storage_call("storage.load")
    tokens = tokens if isinstance(tokens, dict) else {}
    return tokens.get("accessToken"), tokens.get("refreshToken")


def storage_save(access_token, refresh_token):
    _storage_call("storage.save", tokens={"accessToken": access_token, "refreshToken": refresh_token})


def storage_clear():
    _storage_call("storage.clear")


def on_logout():
    send_line({"op": "logout"})


def log(text):
    try:
        sys.stderr.write("python-client: %s\n" % text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

# What "no HTTP answer" looks like in urllib: URLError (refused, DNS), ConnectionError and
# http.client.RemoteDisconnected (dropped), socket.timeout; all OSErrors but the http.client ones.
_NETWORK_ERRORS = (urllib.error.URLError, ConnectionError, socket.timeout, OSError, http.client.HTTPException)


def parse_json(raw):
    """The parsed body, or None for an empty or non-JSON one."""
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None


def http_call(method, path, body, headers, what):
    """(status, parsed body) of whatever the server answered; ApiError(0, NETWORK_ERROR) if nothing."""
    data = None
    headers = dict(headers)
    if body is not None:
        data = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("utf-8")
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(_base_url + path, data=data, headers=headers, method=method)
    try:
        try:
            with _opener.open(request, timeout=HTTP_TIMEOUT) as response:
                return response.status, parse_json(response.read())
        except urllib.error.HTTPError as error:  # a 4xx/5xx answer: its body holds the envelope
            try:
                return error.code, parse_json(error.read())
            finally:
                error.close()
    except _NETWORK_ERRORS as cause:
        raise ApiError(0, "NETWORK_ERROR", "%s got no answer (%s)" % (what, str(cause) or type(cause).__name__))


def send(method, path, body, access_token):
    return http_call(method, path, body, {"Authorization": "Bearer " + access_token}, "%s %s" % (method, path))


def answer(status, body):
    """The parsed body of a success; raises the ApiError of a failure."""
    if 200 <= status < 300:
        return body
    raise ApiError.from_response(status, body)


# ---------------------------------------------------------------------------------------------
# The refresh
# ---------------------------------------------------------------------------------------------


class _Flight:
    """One refresh in progress; every thread that needs a refresh meanwhile waits for its outcome."""

    def __init__(self):
        self.done = threading.Event()
        self.token = None
        self.error = None

    def outcome(self):
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.token


_flight_lock = threading.Lock()  # guards _flight and _refreshes_finished; never held across I/O
_flight = None  # the refresh in flight, or None
_refreshes_finished = 0  # settled refreshes, so a storage read that raced one is read again


# single-flight: remove the lock and every thread refreshes on its own
def fresh_access_token(rejected_token):
    """An access token to retry with, newer than rejected_token: the stored one if another thread
    (or tab) already replaced it, the outcome of the refresh in flight, or that of a new refresh."""
    global _flight, _refreshes_finished
    if not SINGLE_FLIGHT:
        return refresh_tokens()  # the broken client: each caller spends the refresh token it loads
    while True:
        with _flight_lock:
            flight = _flight
            finished_before = _refreshes_finished
        if flight is not None:
            return flight.outcome()  # join the refresh in flight, success or failure
        stored_access, _ = storage_load()  # a round trip to the harness: not under the lock
        with _flight_lock:
            if _flight is not None:
                flight = _flight  # one started while storage was read
            elif _refreshes_finished != finished_before:
                continue  # one finished meanwhile: that read may predate its save
            elif stored_access is None:
                raise ApiError(401, "NOT_SIGNED_IN", "signed out meanwhile; sign in again")
            elif stored_access != rejected_token:
                return stored_access  # a late 401: someone already refreshed
            else:
                # Check and set under one lock: only one thread per refresh gets here.
                _flight = _Flight()
                mine = _flight
        if flight is not None:
            return flight.outcome()
        break
    try:
        mine.token = refresh_tokens()
    except ApiError as error:
        mine.error = error
    except Exception as error:  # never leave the waiters hanging
        mine.error = ApiError(0, "CLIENT_ERROR", "the refresh failed: %r" % (error,))
    finally:
        with _flight_lock:
            _refreshes_finished += 1
            _flight = None
        mine.done.set()
    return mine.outcome()


def refresh_tokens():
    """Spends the stored refresh token; saves and returns the new access token."""
    _, refresh_token = storage_load()
    if refresh_token is None:
        return sign_out(ApiError(401, "NOT_SIGNED_IN", "no refresh token stored; sign in again"))
    # Straight to HTTP, never through handle_request(): a 401 here must not trigger a refresh.
    try:
        status, body = http_call(
            "POST", REFRESH_PATH, {"refresh_token": refresh_token}, {}, "the refresh request"
        )
    except ApiError as error:
        # No answer: the refresh token may still be good, so keep it and let the user try again.
        raise ApiError(0, "NETWORK_ERROR", "the refresh request got no answer; tokens kept, try again") from error
    if status == 401:
        return sign_out(ApiError.from_response(status, body))
    if not 200 <= status < 300:
        raise ApiError.from_response(status, body)  # e.g. 503: transient, keep the tokens
    # data.access_token in the simple profile, data.tokens.access_token in Grit's.
    data = body.get("data") if isinstance(body, dict) else None
    tokens = data.get("tokens", data) if isinstance(data, dict) else None
    access = tokens.get("access_token") if isinstance(tokens, dict) else None
    refresh = tokens.get("refresh_token") if isinstance(tokens, dict) else None
    if not isinstance(access, str) or not isinstance(refresh, str):
        raise ApiError(status, "BAD_REFRESH_RESPONSE", "the refresh answer has no access_token and refresh_token under data")
    # Save BOTH before anyone retries: the old refresh token is dead once rotated.
    storage_save(access, refresh)
    return access


def sign_out(reason):
    storage_clear()
    on_logout()
    raise reason


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


def authed_request(method, path, body):
    access_token, _ = storage_load()
    if access_token is None:
        raise ApiError(401, "NOT_SIGNED_IN", "no access token stored; sign in first")
    status, parsed = send(method, path, body, access_token)
    if status != 401:
        return answer(status, parsed)
    token = fresh_access_token(access_token)
    return answer(*send(method, path, body, token))  # once: a second 401 goes to the caller


def handle_request(message):
    request_id = message.get("id")
    try:
        result = authed_request(message.get("method") or "GET", message.get("path") or "/", message.get("body"))
        send_line({"id": request_id, "result": result})
    except ApiError as error:
        send_line({"id": request_id, "error": {"status": error.status, "code": error.code, "message": error.message}})
    except Exception as error:  # a bug here must not leave the harness waiting
        log("request %r failed: %r" % (request_id, error))
        send_line({"id": request_id, "error": {"status": 0, "code": "CLIENT_ERROR", "message": repr(error)}})


def shut_down():
    """Exits at once, even with threads blocked in HTTP calls or storage waits."""
    if _write_lock.acquire(timeout=1):  # let a line being written finish
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def main():
    global _base_url
    for raw in sys.stdin.buffer:
        line = raw.strip()
        if not line:
            continue
        try:
            message = json.loads(line.decode("utf-8"))
        except ValueError:
            log("not a JSON line: %r" % (line[:200],))
            continue
        if not isinstance(message, dict):
            log("not a JSON object: %r" % (line[:200],))
            continue
        op = message.get("op")
        if op is None and "id" in message:
            _answer_storage_call(message)
        elif op == "request":
            threading.Thread(target=handle_request, args=(message,), daemon=True).start()
        elif op == "init":
            base_url = message.get("baseUrl")
            if isinstance(base_url, str) and base_url:
                _base_url = base_url.rstrip("/")
            send_line({"op": "ready"})
        elif op == "close":
            break
        else:
            log("unknown message: %r" % (line[:200],))
    shut_down()  # {"op":"close"} or EOF on stdin


if __name__ == "__main__":
    main()
