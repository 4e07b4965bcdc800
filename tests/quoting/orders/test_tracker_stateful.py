"""The order tracker against a model exchange, over random interleavings (hypothesis).

The model exchange is the truth: orders are created only through ``reconcile`` (as the
quoter will), requests get OK / FAILED / UNKNOWN outcomes consistent with the truth, and
exchange events (acks, fills with their cumulative quantity, cancels, expiries) are
delivered in any order, duplicated or lost. Queries answer from the truth.

Time passes (``advance``). A placement whose outcome is UNKNOWN and that did not reach the
exchange may still be in flight: it can arrive until its send time + ``RECV_WINDOW_S``, and a
query before that finds nothing (review2 finding 5). A cancel answered FAILED for an order
the exchange has already closed is the venue's -2011 (review2 finding 2).
"""

from __future__ import annotations

from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mmbot.model import Fill, OrderStatus, Outcome, Quote, QuoteSet, Side
from mmbot.quoting.orders import (
    Cancel,
    CancelReplace,
    ClientIdFactory,
    OrderIntent,
    OrderState,
    OrderTracker,
    Place,
    Tolerances,
    reconcile,
)

SYMBOL = "BTCUSDT"
RECV_WINDOW_S = 5.0
_STATUS = {
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
}
_TERMINAL_TRUTH = {
    OrderState.FILLED: "filled",
    OrderState.CANCELLED: "cancelled",
    OrderState.EXPIRED: "expired",
    OrderState.REJECTED: "none",
}

quote_sets = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(0, 1),
        st.sampled_from(["99", "100", "101"]),
        st.sampled_from(["1", "3"]),
    ),
    max_size=4,
)


class TrackerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tracker = OrderTracker(ClientIdFactory("mm", "run1"))
        self.truth: dict[str, dict[str, object]] = {}
        self.requests: list[tuple[str, ...]] = []
        self.outbox: list[tuple[str, object]] = []
        self.delivered_trades: dict[str, dict[int, Decimal]] = {}
        self.last_filled: dict[str, Decimal] = {}
        self.next_order_id = 1
        self.next_trade_id = 1
        self.now = 0.0
        self.lost: set[str] = set()  # orders that lost an exchange event without a trace
        self.told_gone: set[str] = set()  # orders whose cancel the venue refused as -2011

    # -- the exchange ----------------------------------------------------------------

    def _accept(self, cid: str) -> None:
        truth = self.truth[cid]
        truth["status"] = "open"
        truth["order_id"] = self.next_order_id
        self.next_order_id += 1
        self.outbox.append(("ack", cid))

    def _cancel_on_exchange(self, cid: str) -> bool:
        truth = self.truth[cid]
        if truth["status"] != "open":
            return False
        truth["status"] = "cancelled"
        self.outbox.append(("cancelled", cid))
        return True

    def _open(self) -> list[str]:
        return sorted(c for c, t in self.truth.items() if t["status"] == "open")

    def _in_flight(self) -> list[str]:
        """Placements still travelling that the exchange would accept now."""
        return sorted(
            c
            for c, t in self.truth.items()
            if t["status"] == "in_flight" and self.now <= t["deadline"]  # type: ignore[operator]
        )

    # -- rules -------------------------------------------------------------------------

    @rule(quotes=quote_sets, price_bps=st.sampled_from([Decimal(0), Decimal(200)]))
    def quote(self, quotes: list[tuple[Side, int, str, str]], price_bps: Decimal) -> None:
        desired = QuoteSet(
            SYMBOL,
            bids=tuple(
                Quote(s, lv, Decimal(p), Decimal(q)) for s, lv, p, q in quotes if s is Side.BUY
            ),
            asks=tuple(
                Quote(s, lv, Decimal(p), Decimal(q)) for s, lv, p, q in quotes if s is Side.SELL
            ),
        )
        live = self.tracker.live(SYMBOL)
        actions = reconcile(desired, live, 0.0, Tolerances(price_bps=price_bps))
        busy = {o.slot for o in live if not o.state.is_resting}
        new_slots = [a.slot for a in actions if isinstance(a, Place | CancelReplace)]
        assert len(new_slots) == len(set(new_slots)), "two new orders on one slot"
        assert not busy & set(new_slots), "a new order on a slot with an order in flight"
        for action in actions:
            if isinstance(action, Cancel):
                assert self.tracker.request_cancel(action.client_order_id).anomaly is None
                self.requests.append(("cancel", action.client_order_id))
                continue
            quote = action.quote
            cid = self.tracker.new_order(OrderIntent.from_quote(SYMBOL, quote), now=self.now)
            self.truth[cid] = {
                "status": "none",
                "qty": quote.quantity,
                "filled": Decimal(0),
                "slot": action.slot,
                "order_id": None,
                "deadline": self.now + RECV_WINDOW_S,  # signed now: void after this
            }
            if isinstance(action, Place):
                self.requests.append(("place", cid))
            else:
                assert self.tracker.request_cancel(action.client_order_id).anomaly is None
                self.requests.append(("replace", action.client_order_id, cid))

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def answer_requests(self, data: st.DataObject) -> None:
        """Some of the pending requests get their outcomes, in any order."""
        order = data.draw(st.permutations(range(len(self.requests))))
        chosen = [self.requests[i] for i in order[: data.draw(st.integers(1, len(order)))]]
        for request in chosen:
            self.requests.remove(request)
            outcome = data.draw(st.sampled_from(list(Outcome)))
            self._answer(request, outcome, data.draw(st.sampled_from(["yes", "no", "later"])))

    def _answer(self, request: tuple[str, ...], outcome: Outcome, happened: str) -> None:
        kind, cid = request[0], request[1]
        if kind == "place":
            if outcome is Outcome.OK or (outcome is Outcome.UNKNOWN and happened == "yes"):
                self._accept(cid)
            elif outcome is Outcome.UNKNOWN and happened == "later":
                self.truth[cid]["status"] = "in_flight"  # may still reach the exchange
            oid = self.truth[cid]["order_id"] if outcome is Outcome.OK else None
            self.tracker.on_place_outcome(cid, outcome, oid, now=self.now)  # type: ignore[arg-type]
            return
        if outcome is Outcome.FAILED or (outcome is Outcome.UNKNOWN and happened != "yes"):
            cancelled = False
        else:
            cancelled = self._cancel_on_exchange(cid)
        if outcome is Outcome.OK and not cancelled:
            outcome = Outcome.FAILED  # the venue refuses to cancel a closed order (-2011)
        if outcome is Outcome.FAILED and self.truth[cid]["status"] != "open":
            self.told_gone.add(cid)
        self.tracker.on_cancel_outcome(cid, outcome)
        if kind == "replace":  # STOP_ON_FAILURE: the new order only if the cancel happened
            new = request[2]
            if cancelled:
                self._accept(new)
            oid = self.truth[new]["order_id"] if outcome is Outcome.OK else None
            self.tracker.on_place_outcome(new, outcome, oid, now=self.now)  # type: ignore[arg-type]

    @rule(dt=st.sampled_from([0.5, 2.0, 10.0]))
    def advance(self, dt: float) -> None:
        """Time passes; placements still in flight past their recvWindow are void."""
        self.now += dt
        for truth in self.truth.values():
            if truth["status"] == "in_flight" and self.now > truth["deadline"]:  # type: ignore[operator]
                truth["status"] = "none"

    @precondition(lambda self: self._in_flight())
    @rule(data=st.data())
    def late_placement_arrives(self, data: st.DataObject) -> None:
        """A placement answered UNKNOWN reaches the exchange late, inside its recvWindow."""
        self._accept(data.draw(st.sampled_from(self._in_flight())))

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def exchange_fills(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self._open()))
        truth = self.truth[cid]
        remaining = truth["qty"] - truth["filled"]  # type: ignore[operator]
        qty = Decimal(data.draw(st.integers(1, int(remaining))))
        truth["filled"] = truth["filled"] + qty  # type: ignore[operator]
        fill = Fill(
            SYMBOL,
            truth["order_id"],
            cid,
            self.next_trade_id,
            truth["slot"][0],  # type: ignore[arg-type,index]
            Decimal(100),
            qty,
            Decimal(0),
            "USDT",
            True,
            0,
        )
        self.next_trade_id += 1
        self.outbox.append(("fill", fill))
        self.outbox.append(("cum", (cid, truth["filled"])))
        if truth["filled"] == truth["qty"]:
            truth["status"] = "filled"

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def exchange_expires(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self._open()))
        self.truth[cid]["status"] = "expired"
        self.outbox.append(("expired", cid))

    @precondition(lambda self: self.outbox)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        """Deliver events in any order; each may also be duplicated, lost or held back."""
        events = data.draw(st.permutations(self.outbox))
        self.outbox = []
        for event in events:
            fate = data.draw(st.sampled_from(["deliver", "deliver", "duplicate", "hold", "lose"]))
            if fate == "hold":
                self.outbox.append(event)
            elif fate == "lose":
                kind, payload = event
                self.lost.add(
                    payload[0] if kind == "cum" else getattr(payload, "client_order_id", payload)
                )  # type: ignore[index,arg-type]
            else:
                self._deliver(*event)
                if fate == "duplicate":
                    self.outbox.append(event)

    def _deliver(self, kind: str, payload: object) -> None:
        if kind == "ack":
            self.tracker.on_ack(payload, self.truth[payload]["order_id"])  # type: ignore[arg-type,index]
        elif kind == "fill":
            assert isinstance(payload, Fill)
            self.tracker.on_fill(payload)
            trades = self.delivered_trades.setdefault(payload.client_order_id, {})
            trades[payload.trade_id] = payload.quantity
        elif kind == "cum":
            cid, z = payload  # type: ignore[misc]
            self.tracker.on_cumulative(cid, z)
        elif kind == "cancelled":
            self.tracker.on_cancelled(payload)  # type: ignore[arg-type]
        elif kind == "expired":
            self.tracker.on_expired(payload)  # type: ignore[arg-type]

    @precondition(lambda self: self.tracker.unresolved())
    @rule(data=st.data())
    def query(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self.tracker.unresolved()))
        truth = self.truth[order.client_order_id]
        status = truth["status"]
        if status in ("none", "in_flight"):
            self.tracker.on_query_result(
                order.client_order_id, found=False, now=self.now, recv_window_s=RECV_WINDOW_S
            )
            return
        if status == "open":
            st_ = OrderStatus.PARTIALLY_FILLED if truth["filled"] else OrderStatus.NEW
        else:
            st_ = _STATUS[status]  # type: ignore[index]
        self.tracker.on_query_result(
            order.client_order_id,
            True,
            st_,
            truth["filled"],
            truth["order_id"],  # type: ignore[arg-type]
        )

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def no_order_lost(self) -> None:
        live = {o.client_order_id for o in self.tracker.live()}
        for cid, truth in self.truth.items():
            order = self.tracker.get(cid)
            assert order is not None
            if truth["status"] == "open":
                assert cid in live, f"{cid} rests on the exchange but the tracker closed it"
            if order.state.is_terminal:
                assert truth["status"] == _TERMINAL_TRUTH[order.state]

    @invariant()
    def resting_in_the_tracker_means_open_on_the_exchange(self) -> None:
        """The converse of ``no_order_lost``: no phantom quotes.

        A resting order is open on the exchange, or the event that closed it is still on
        its way; only an order whose closing event was lost without a trace may rest in
        the tracker's view, and never one the venue has said is gone (-2011).
        """
        pending = {
            payload[0] if kind == "cum" else getattr(payload, "client_order_id", payload)  # type: ignore[index]
            for kind, payload in self.outbox
        }
        for order in self.tracker.live():
            cid = order.client_order_id
            if not order.state.is_resting or self.truth[cid]["status"] == "open":
                continue
            if cid in pending:
                continue
            assert cid in self.lost and cid not in self.told_gone, (
                f"{cid} rests in the tracker but is {self.truth[cid]['status']} on the exchange"
            )

    @invariant()
    def fills_counted_once_and_monotone(self) -> None:
        for cid in self.truth:
            order = self.tracker.get(cid)
            assert order is not None
            assert order.fills_qty == sum(self.delivered_trades.get(cid, {}).values(), Decimal(0))
            assert order.filled <= order.quantity
            assert order.filled >= self.last_filled.get(cid, Decimal(0))
            self.last_filled[cid] = order.filled

    @invariant()
    def one_order_per_slot_on_the_exchange(self) -> None:
        slots = [self.truth[c]["slot"] for c in self._open()]
        assert len(slots) == len(set(slots))  # type: ignore[arg-type]

    @invariant()
    def the_live_index_answers_what_a_scan_would(self) -> None:
        scan = [o for o in self.tracker if not o.state.is_terminal]
        assert self.tracker.live(SYMBOL) == scan
        assert self.tracker.live() == scan
        assert self.tracker.unresolved(SYMBOL) == [
            o for o in scan if o.state is OrderState.UNRESOLVED
        ]

    @invariant()
    def truthful_events_raise_no_anomaly(self) -> None:
        assert self.tracker.anomalies() == []


# Late-arriving evidence needs a few steps in a row to line up: run more examples than the
# profile's default (still a few seconds).
TrackerMachine.TestCase.settings = settings(
    TrackerMachine.TestCase.settings, max_examples=200, stateful_step_count=40
)
test_tracker_against_model_exchange = TrackerMachine.TestCase
