"""An invoice's life at the SDI as a table of transitions (state, event) -> next state.

| from          | event    | to             | flows   |
|---------------|----------|----------------|---------|
| received      | NS       | rejected       | PA, B2B |
| received      | RC       | delivered      | PA, B2B |
| received      | MC       | not_delivered  | PA, B2B |
| not_delivered | RC       | delivered      | PA      |
| not_delivered | AT       | undeliverable  | PA      |
| delivered     | NE_EC01  | accepted       | PA      |
| delivered     | NE_EC02  | refused        | PA      |
| delivered     | DT       | expired        | PA      |

B2B MC is final: the invoice is issued and sits in the recipient's reserved area.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum


class Flow(StrEnum):
    PA = "PA"
    B2B = "B2B"


class State(StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"
    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"
    UNDELIVERABLE = "undeliverable"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    EXPIRED = "expired"


class Event(StrEnum):
    NS = "NS"
    RC = "RC"
    MC = "MC"
    AT = "AT"
    NE_EC01 = "NE_EC01"
    NE_EC02 = "NE_EC02"
    DT = "DT"

    @property
    def message_type(self) -> str:
        """The two-letter SDI message code of the file this event produces."""
        return self.value[:2]


BOTH = frozenset({Flow.PA, Flow.B2B})
PA_ONLY = frozenset({Flow.PA})

TRANSITIONS: dict[tuple[State, Event], tuple[State, frozenset[Flow]]] = {
    (State.RECEIVED, Event.NS): (State.REJECTED, BOTH),
    (State.RECEIVED, Event.RC): (State.DELIVERED, BOTH),
    (State.RECEIVED, Event.MC): (State.NOT_DELIVERED, BOTH),
    (State.NOT_DELIVERED, Event.RC): (State.DELIVERED, PA_ONLY),
    (State.NOT_DELIVERED, Event.AT): (State.UNDELIVERABLE, PA_ONLY),
    (State.DELIVERED, Event.NE_EC01): (State.ACCEPTED, PA_ONLY),
    (State.DELIVERED, Event.NE_EC02): (State.REFUSED, PA_ONLY),
    (State.DELIVERED, Event.DT): (State.EXPIRED, PA_ONLY),
}


class InvalidTransition(ValueError):
    def __init__(self, state: State, event: Event, flow: Flow) -> None:
        super().__init__(
            f"the SDI does not emit {event.value} for a {flow.value} invoice in state '{state.value}'"
        )
        self.state, self.event, self.flow = state, event, flow


def next_state(state: State, event: Event, flow: Flow) -> State:
    target = TRANSITIONS.get((state, event))
    if target is None or flow not in target[1]:
        raise InvalidTransition(state, event, flow)
    return target[0]


def is_allowed(state: State, event: Event, flow: Flow) -> bool:
    target = TRANSITIONS.get((state, event))
    return target is not None and flow in target[1]


def path_to(state: State, event: Event, flow: Flow) -> list[Event]:
    """Shortest list of events, ending with ``event``, that the SDI can emit from ``state``.

    Used when an outcome is forced: forcing DT on a PA invoice still waiting for its RC emits the RC
    first, as the real SDI would have.
    """
    queue: deque[tuple[State, list[Event]]] = deque([(state, [])])
    seen = {state}
    while queue:
        current, path = queue.popleft()
        for (source, candidate), (target, flows) in TRANSITIONS.items():
            if source is not current or flow not in flows:
                continue
            if candidate is event:
                return [*path, candidate]
            if target not in seen:
                seen.add(target)
                queue.append((target, [*path, candidate]))
    raise InvalidTransition(state, event, flow)
