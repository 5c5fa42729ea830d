"""v1 orchestrator: greets each city with the Greet activity, counts them on the Tally entity."""

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    cities = context.get_input()
    tally = df.EntityId("Tally", "greetings")
    greetings = []
    for city in cities:
        greetings.append((yield context.call_activity("Greet", city)))
        context.signal_entity(tally, "add", 1)
    total = yield context.call_entity(tally, "get")
    return {"greetings": greetings, "tally": total}


main = df.Orchestrator.create(orchestrator_function)
