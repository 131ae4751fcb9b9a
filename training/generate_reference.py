"""Make images with diffusers' own UnCLIPPipeline / UnCLIPImageVariationPipeline from the exported folder.

    # one image per held-out prompt, into a folder that evaluate.py judges
    /usr/bin/python3 training/generate_reference.py eval --prompts training/eval/prompts.jsonl --out /tmp/gen
    # demo pictures: a few prompts, variations of an image, an interpolation strip (training/demo/*.png)
    /usr/bin/python3 training/generate_reference.py demo --out training/demo
    # CPU time of one image at the largest size with the pipeline's default steps (25 prior, 25 decoder, 7 SR)
    /usr/bin/python3 training/generate_reference.py time --threads 2
    # the same for a batch of 16: 4 prompts x 4 images each
    /usr/bin/python3 training/generate_reference.py time --threads 2 --prompts 4 --images-per-prompt 4

Everything uses the pipelines' defaults (steps 25/25/7, prior guidance 4, decoder guidance 8) unless told.
Seeds: eval batch k (prompts k*B .. k*B+B-1) uses torch.Generator().manual_seed(seed + k).
"""
import argparse
import json
import os
import shutil
import time

from common import MODEL_DIR, ds, np, torch
from PIL import Image


def load_pipe(model_dir):
    from diffusers import UnCLIPPipeline
    pipe = UnCLIPPipeline.from_pretrained(model_dir)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_variation_pipe(pipe, model_dir):
    from diffusers import UnCLIPImageVariationPipeline
    from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection
    vp = UnCLIPImageVariationPipeline(
        decoder=pipe.decoder, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer, text_proj=pipe.text_proj,
        feature_extractor=CLIPImageProcessor.from_pretrained(model_dir, subfolder="feature_extractor"),
        image_encoder=CLIPVisionModelWithProjection.from_pretrained(model_dir, subfolder="image_encoder"),
        super_res_first=pipe.super_res_first, super_res_last=pipe.super_res_last,
        decoder_scheduler=pipe.decoder_scheduler, super_res_scheduler=pipe.super_res_scheduler)
    vp.set_progress_bar_config(disable=True)
    return vp


def cmd_eval(a):
    pipe = load_pipe(a.model)
    with open(a.prompts) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if a.limit:
        rows = rows[:a.limit]
    os.makedirs(a.out, exist_ok=True)
    shutil.copy(a.prompts, os.path.join(a.out, "prompts.jsonl"))
    t0 = time.time()
    for k in range(0, len(rows), a.batch):
        chunk = rows[k:k + a.batch]
        g = torch.Generator().manual_seed(a.seed + k // a.batch)
        imgs = pipe([r["prompt"] for r in chunk], generator=g, prior_guidance_scale=a.prior_guidance,
                    decoder_guidance_scale=a.decoder_guidance).images
        for r, im in zip(chunk, imgs):
            im.save(os.path.join(a.out, r["file"]))
        print(f"{k + len(chunk)}/{len(rows)} images ({time.time() - t0:.0f}s)", flush=True)


def grid(images, cols):
    w, h = images[0].size
    rows = (len(images) + cols - 1) // cols
    g = Image.new("RGB", (cols * w, rows * h), (255, 255, 255))
    for i, im in enumerate(images):
        g.paste(im, ((i % cols) * w, (i // cols) * h))
    return g


def slerp(a, b, t):
    an, bn = a / a.norm(), b / b.norm()
    omega = torch.acos((an * bn).sum().clamp(-1, 1))
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def cmd_demo(a):
    pipe = load_pipe(a.model)
    os.makedirs(a.out, exist_ok=True)
    prompts = ["a small blue square at the top left on a yellow background",
               "a large red circle in the center on a white background",
               "a green triangle at the bottom right on a black background",
               "a purple diamond on the left on a gray background",
               "a red circle left of a blue square",
               "a yellow triangle above a green circle on a blue background",
               "a big orange circle",
               "a white square at the top on a black background"]
    imgs = []
    for i, p in enumerate(prompts):
        imgs.append(pipe(p, generator=torch.Generator().manual_seed(a.seed + i)).images[0])
    grid(imgs, 4).save(os.path.join(a.out, "text_to_image.png"))
    with open(os.path.join(a.out, "text_to_image.txt"), "w") as f:
        f.write("\n".join(f"{i}: {p} (seed {a.seed + i})" for i, p in enumerate(prompts)) + "\n")

    # variations: a rendered (ground-truth) picture in, the same content out with different details
    vp = load_variation_pipe(pipe, a.model)
    rng = np.random.default_rng(a.seed)
    srcs = [ds.render(ds.Single("circle", "red", "large", "top left", "white"), rng),
            ds.render(ds.Pair("blue", "square", "left of", "yellow", "triangle", "black"), rng)]
    rows = []
    for j, src in enumerate(srcs):
        out = vp(src, num_images_per_prompt=3, generator=torch.Generator().manual_seed(a.seed + 100 + j)).images
        rows += [src] + out
    grid(rows, 4).save(os.path.join(a.out, "variations.png"))

    # interpolation: slerp between the CLIP image embeddings of two pictures, same seed for every frame
    e = [vp.image_encoder(vp.feature_extractor(s, return_tensors="pt").pixel_values).image_embeds[0].detach()
         for s in (ds.render(ds.Single("circle", "red", "large", "left", "white"), rng),
                   ds.render(ds.Single("square", "blue", "large", "right", "white"), rng))]
    frames = []
    for t in np.linspace(0, 1, 7):
        emb = slerp(e[0], e[1], float(t))[None]
        frames.append(vp(image_embeddings=emb, generator=torch.Generator().manual_seed(a.seed + 200)).images[0])
    grid(frames, 7).save(os.path.join(a.out, "interpolation.png"))
    print(f"wrote {a.out}/text_to_image.png, variations.png, interpolation.png")


# The prompts of `time`; --prompts P takes the first P (benchmarks/compare/cpu_compare.py's PROMPTS are the same).
TIME_PROMPTS = ["a small blue square at the top left on a yellow background",
                "a large red circle in the center on a white background",
                "a green triangle at the bottom right on a black background",
                "a purple diamond on the left on a gray background"]


def cmd_time(a):
    torch.set_num_threads(a.threads)
    pipe = load_pipe(a.model)
    prompts = TIME_PROMPTS[:a.prompts]
    batch = len(prompts) * a.images_per_prompt
    pipe(prompts, num_images_per_prompt=a.images_per_prompt, generator=torch.Generator().manual_seed(0))  # warm-up
    ts = []
    for i in range(a.repeats):
        t0 = time.perf_counter()
        im = pipe(prompts, num_images_per_prompt=a.images_per_prompt, generator=torch.Generator().manual_seed(i)).images[0]
        ts.append(time.perf_counter() - t0)
    print(f"batch {batch} ({len(prompts)} prompts x {a.images_per_prompt} images) of {im.size[0]}x{im.size[1]}, default "
          f"steps (prior 25, decoder 25, super-res 7), torch threads {torch.get_num_threads()}: median "
          f"{np.median(ts):.2f} s per call, {np.median(ts) / batch:.2f} s per image, runs {[round(t, 2) for t in ts]}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("eval")
    p.add_argument("--prompts", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--prior-guidance", type=float, default=4.0)
    p.add_argument("--decoder-guidance", type=float, default=8.0)
    p = sub.add_parser("demo")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo"))
    p = sub.add_parser("time")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--prompts", type=int, default=1, choices=range(1, len(TIME_PROMPTS) + 1),
                   help="how many prompts in one call (batch = prompts x images per prompt)")
    p.add_argument("--images-per-prompt", type=int, default=1)
    for q in sub.choices.values():
        q.add_argument("--model", default=MODEL_DIR)
        q.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.cmd != "time":
        torch.set_num_threads(2)
    {"eval": cmd_eval, "demo": cmd_demo, "time": cmd_time}[a.cmd](a)
