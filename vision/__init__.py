"""Vision vertical: image classification and object detection."""
