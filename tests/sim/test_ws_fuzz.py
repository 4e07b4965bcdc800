"""Garbage frames at the WebSocket API and the stream endpoints: answers stay well-formed."""

from __future__ import annotations

import json

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.inprocess import InProcessExchange

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
methods = st.sampled_from(
    [
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "LIST_SUBSCRIPTIONS",
        "order.place",
        "order.cancel",
        "openOrders.status",
        "userDataStream.subscribe.signature",
        "ping",
        "nope",
    ]
)
requests = st.fixed_dictionaries(
    {"method": methods | st.text(max_size=10)},
    optional={"id": json_values, "params": json_values},
).map(json.dumps)
frames = st.one_of(
    requests,
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=64),
)


def _exchange_answers(resource: str, sent: list[str | bytes]) -> list[dict[str, object]]:
    async def main() -> list[dict[str, object]]:
        exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",), seed=1))
        answers: list[dict[str, object]] = []
        async with trio.open_nursery() as nursery:
            await nursery.start(exchange.run)
            venue = InProcessExchange(exchange)
            ws = await venue.connect_ws(nursery, resource)
            for frame in sent:
                await ws.send_message(frame)
            await ws.send_message('{"method": "LIST_SUBSCRIPTIONS", "id": 424241}')
            await ws.send_message('{"method": "ping", "id": 424242}')
            with trio.fail_after(60):
                while True:
                    answer = json.loads(await ws.get_message())
                    assert isinstance(answer, dict)
                    if "stream" in answer or "e" in answer:
                        continue  # market data (raw or combined) between the answers
                    answers.append(answer)
                    if answer.get("id") == 424242:
                        break
            # The server still serves new connections after the garbage.
            again = await venue.connect_ws(nursery, "/ws/btcusdt@trade")
            assert json.loads(await again.get_message())["e"] == "trade"
            await again.aclose()
            await ws.aclose()
            nursery.cancel_scope.cancel()
        return answers

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


@settings(max_examples=30)
@given(st.lists(frames, min_size=1, max_size=8))
def test_ws_api_answers_every_garbage_frame_with_a_dialect_answer(sent: list[str | bytes]) -> None:
    answers = _exchange_answers("/ws-api/v3", sent)
    assert len(answers) == len(sent) + 2
    for answer in answers:
        assert "id" in answer and isinstance(answer.get("status"), int)
        if answer["status"] == 200:
            assert "result" in answer
        else:
            error = answer["error"]
            assert isinstance(error, dict)
            assert isinstance(error["code"], int) and isinstance(error["msg"], str)


@settings(max_examples=30)
@given(st.lists(frames, min_size=1, max_size=8))
def test_stream_endpoint_answers_every_garbage_frame(sent: list[str | bytes]) -> None:
    answers = _exchange_answers("/stream?streams=btcusdt@trade", sent)
    assert len(answers) == len(sent) + 2
    for answer in answers:
        assert "id" in answer
        if "error" in answer:
            error = answer["error"]
            assert isinstance(error, dict) and isinstance(error["code"], int)
        else:
            assert "result" in answer
