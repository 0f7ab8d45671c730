"""ament_python build of cluenet_ros.

colcon (through setup.cfg) puts the console scripts into lib/cluenet_ros so that
``ros2 run`` finds them; ``pip install -e .`` in the self-contained venv puts them
into .venv/bin. launch/, config/ and models/ go to share/cluenet_ros in both cases.
"""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "cluenet_ros"


def share(folder, pattern="*"):
    return (f"share/{PACKAGE}/{folder}", sorted(p for p in glob(f"{folder}/{pattern}")))


setup(
    name=PACKAGE,
    version="0.1.0",
    # training/ is installed as cluenet_training (a top-level "training" would clash)
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]) + ["cluenet_training"],
    package_dir={"cluenet_training": "training"},
    package_data={PACKAGE: ["py.typed", "data/real_images.json", "data/real_images_second.json",
                            "data/real_images_third.json", "synth/realistic/texture_manifest.json",
                            "data/plate_manifest.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        share("launch", "*.launch.py"),
        share("config", "*.yaml"),
        share("config", "*.rviz"),
        share("config", "*.xml"),  # the Fast DDS profile for large images
        share("models", "*.pt"),  # the trained demo weights (the node's default)
    ],
    python_requires=">=3.10",
    install_requires=["setuptools"],
    # optional CPU inference runtimes (backend: onnxruntime | openvino); make setup installs both
    extras_require={"onnxruntime": ["onnxruntime>=1.18"], "openvino": ["openvino>=2024.0"]},
    zip_safe=False,
    maintainer="cluenet_ros developers",
    maintainer_email="cluenet-ros@example.com",
    description="ClueNet pedestrian detection, segmentation and occlusion-aware pose for ROS 2",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "cluenet = cluenet_ros.cli:main",
            "pedestrian_node = cluenet_ros.ros.pedestrian_node:entry_point",
            "pedestrian_lifecycle_node = cluenet_ros.ros.pedestrian_node:lifecycle_entry_point",
        ],
    },
)
