"""v1 entity: a counter with ``add`` and ``get``."""

import azure.durable_functions as df


def entity_function(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)


main = df.Entity.create(entity_function)
