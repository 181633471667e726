"""The example shop: products, orders paid with KakaoPay, and monthly subscriptions."""
