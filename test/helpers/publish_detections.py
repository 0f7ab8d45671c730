"""Publish one fully populated vision_msgs/Detection2DArray until a subscriber
has been matched and a few copies have gone out, then exit.

Runs in its own process so the round-trip test crosses a process boundary.
"""
import sys
import time

import rclpy
from geometry_msgs.msg import PoseWithCovariance
from rclpy.qos import QoSProfile, ReliabilityPolicy
from vision_msgs.msg import (BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesis,
                             ObjectHypothesisWithPose)


def sample_message() -> Detection2DArray:
    msg = Detection2DArray()
    msg.header.stamp.sec = 1_700_000_123
    msg.header.stamp.nanosec = 456_789
    msg.header.frame_id = "camera_front_optical"
    for i in range(3):
        det = Detection2D()
        det.header = msg.header
        det.id = f"ped-{i}"
        det.bbox = BoundingBox2D()
        det.bbox.center.position.x = 100.5 + i
        det.bbox.center.position.y = 200.25 + i
        det.bbox.center.theta = 0.125 * i
        det.bbox.size_x = 40.0 + i
        det.bbox.size_y = 98.0 + i
        for j in range(2):
            hyp = ObjectHypothesisWithPose()
            hyp.hypothesis = ObjectHypothesis(class_id=f"class-{j}", score=0.5 + 0.1 * i + 0.01 * j)
            hyp.pose = PoseWithCovariance()
            hyp.pose.pose.position.x = float(i)
            hyp.pose.pose.position.y = float(j)
            hyp.pose.pose.position.z = 3.5
            hyp.pose.pose.orientation.w = 1.0
            hyp.pose.covariance = [float(k + i) for k in range(36)]
            det.results.append(hyp)
        msg.detections.append(det)
    return msg


def main() -> int:
    topic = sys.argv[1]
    rclpy.init()
    node = rclpy.create_node("detections_publisher")
    pub = node.create_publisher(Detection2DArray, topic, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    msg = sample_message()
    for _ in range(5):
        pub.publish(msg)
        time.sleep(0.1)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
