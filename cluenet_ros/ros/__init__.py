"""The ROS 2 layer: a thin node over ``cluenet_ros.inference`` (subscribe,
convert, infer, convert, publish). Nothing here knows about training."""
