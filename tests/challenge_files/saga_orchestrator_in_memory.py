STEPS = ["stock", "payment", "shipping"]


class Orchestrator:
    """Right steps and request ids, but the saga state lives in memory: no durable log."""

    def __init__(self, log, services):
        self.services = services
        self.sagas = {}

    def start(self, saga_id, order):
        self.sagas.setdefault(saga_id, ["forward", 0])

    def tick(self):
        for saga_id, state in self.sagas.items():
            while True:
                direction, done = state
                if direction == "forward":
                    if done == len(STEPS):
                        break
                    step = STEPS[done]
                    answer = self.services.do(step, saga_id, f"{saga_id}/{step}/do")
                    if answer == "timeout":
                        break
                    state[:] = ["forward", done + 1] if answer == "ok" else ["back", done]
                else:
                    if done == 0:
                        break
                    step = STEPS[done - 1]
                    if self.services.undo(step, saga_id, f"{saga_id}/{step}/undo") == "timeout":
                        break
                    state[1] = done - 1
