from eventstore import components


class ShippingConfig(components.Component):
    name = "shipping"
    order_streams = ("shipment",)
