from eventstore import components


class WebhooksConfig(components.Component):
    name = "webhooks"
