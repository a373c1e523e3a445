from eventstore import components


class BillingConfig(components.Component):
    name = "billing"
    order_streams = ("payment",)
