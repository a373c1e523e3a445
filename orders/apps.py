from eventstore import components


class OrdersConfig(components.Component):
    name = "orders"
    order_streams = ("order",)
