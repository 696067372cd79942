"""Reference solution of challenge saga-orchestrator (lesson 09).

The saga log holds, per saga, where it stands: the direction ("forward" or "back") and how
many steps are done. It is written after every answer, so a new orchestrator resumes every
saga where the log says. Request ids are derived from the saga, the step and the direction:
a call repeated after a crash or a timeout carries the same id, and the service runs it once.
A timed-out step is retried on the next tick (forward recovery); a rejected step turns the
saga back, and the steps done are compensated newest first.
"""

STEPS = ["stock", "payment", "shipping"]


class Orchestrator:
    def __init__(self, log, services):
        self.log = log
        self.services = services

    def start(self, saga_id, order):
        with self.log.transaction():
            sagas = self.log.get("sagas", [])
            if saga_id in sagas:
                return
            self.log.put(("saga", saga_id), ("forward", 0))
            self.log.put("sagas", [*sagas, saga_id])

    def tick(self):
        for saga_id in self.log.get("sagas", []):
            self.advance(saga_id)

    def advance(self, saga_id):
        key = ("saga", saga_id)
        direction, done = self.log.get(key)
        while True:
            if direction == "forward":
                if done == len(STEPS):
                    return  # committed
                step = STEPS[done]
                answer = self.services.do(step, saga_id, f"{saga_id}/{step}/do")
                if answer == "timeout":
                    return  # try again on the next tick, with the same request id
                direction, done = ("forward", done + 1) if answer == "ok" else ("back", done)
            else:
                if done == 0:
                    return  # compensated
                step = STEPS[done - 1]
                if self.services.undo(step, saga_id, f"{saga_id}/{step}/undo") == "timeout":
                    return
                done -= 1
            self.log.put(key, (direction, done))
