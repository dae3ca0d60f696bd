"""Finance vertical: credit risk scoring and price forecasting."""
