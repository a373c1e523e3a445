from eventstore import components


class ReturnsConfig(components.Component):
    name = "returns"
    order_streams = ("return",)  # return-{order_id} is part of an order's story
