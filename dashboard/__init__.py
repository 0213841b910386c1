"""Customer-intelligence dashboard: a Streamlit app over the published BI snapshot."""
