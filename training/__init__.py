"""The ClueNet training pipeline (installed as ``cluenet_training``).

Stage 1 (detection + segmentation) and stage 2 (pose with Mask and Predict and
adversarial domain adaptation), section 4.2 of the paper. Uses the model code of
``cluenet_ros.models``; knows nothing of ROS.
"""
