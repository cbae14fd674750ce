"""Header hygiene of the proxy, tested on a bare app with aiohttp's test server."""

from aiohttp.test_utils import make_mocked_request

from services.gateway.proxy import upstream_request_headers


def test_hop_by_hop_connection_listed_and_identity_headers_are_dropped() -> None:
    request = make_mocked_request(
        "GET",
        "/files",
        headers={
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Upgrade": "websocket",
            "Proxy-Authorization": "Basic x",
            "X-FM-User": "5f1e7cda04a394508232559d",
            "X_FM_Signature": "forged",
            "X-Token": "t",
            "Accept": "application/json",
        },
    )
    headers = upstream_request_headers(request, keep_token=False)
    kept = {name.lower() for name in headers}
    assert "accept" in kept and "x-forwarded-for" in kept
    for name in (
        "connection",
        "x-secret-hop",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
        "x-fm-user",
        "x_fm_signature",
        "x-token",
        "host",
    ):
        assert name not in kept, name
    assert "x-token" in {n.lower() for n in upstream_request_headers(request, keep_token=True)}
