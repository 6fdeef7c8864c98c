using System;
using System.Globalization;
using System.Linq;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// <c>-- decode-check</c>: the decode comparison is only fair if ONNX Runtime computes the same function. Runs the
/// benchmark's model through our decoder and through <see cref="OnnxDecoderGraph"/> on ONNX Runtime, at batch 1 and 8:
/// a 64-token prefill, then 8 decode steps feeding each engine its own cache (ours in the decoder, ONNX Runtime's
/// present outputs back as the next past inputs), the next tokens chosen greedily from our logits.
/// </summary>
public static class DecodePeerCheck
{
    /// <summary>The largest |ours − ONNX Runtime| allowed on a logit (float32 rounding of sums over 128–512 terms in
    /// another order, of logits of order 1).</summary>
    public const float Tolerance = 1e-4f;

    /// <returns>Whether every logit agreed within <see cref="Tolerance"/>.</returns>
    public static bool Run()
    {
        TransformerLanguageModel model = DecodingBenchmarks.CreateModel();
        int v = model.Config.Vocabulary;
        bool agreed = true;
        foreach (int batch in new[] { 1, 8 })
        {
            const int promptLength = 64, steps = 8;
            var decoder = new LanguageModelDecoder(model, batch);
            int[] sequences = Enumerable.Range(0, batch).ToArray();
            var ours = new float[batch * v];
            using var prefill = new OnnxDecoderRunner(model, threads: 1, batch, promptLength, past: 0);
            for (int b = 0; b < batch; b++)
            {
                int[] prompt = Enumerable.Range(0, promptLength).Select(i => (i * 7 + b * 13 + 32) % v).ToArray();
                decoder.Prefill(b, prompt, ours.AsSpan(b * v, v));
                for (int i = 0; i < promptLength; i++)
                    prefill.InputIds[b * promptLength + i] = prompt[i];
            }

            prefill.Run();
            float prefillDifference = MaxDifference(ours, prefill.Logits);
            float[][] keys = prefill.PresentKeys, values = prefill.PresentValues;
            float decodeDifference = 0;
            var tokens = new int[batch];
            for (int step = 0; step < steps; step++)
            {
                for (int b = 0; b < batch; b++)
                    tokens[b] = ours.AsSpan(b * v, v).IndexOf(ours.AsSpan(b * v, v).ToArray().Max());
                decoder.DecodeStep(sequences, tokens, ours);
                using var peer = new OnnxDecoderRunner(model, threads: 1, batch, tokens: 1, past: promptLength + step);
                for (int l = 0; l < model.Config.Layers; l++)
                {
                    keys[l].CopyTo(peer.PastKeys[l], 0);
                    values[l].CopyTo(peer.PastValues[l], 0);
                }

                for (int b = 0; b < batch; b++)
                    peer.InputIds[b] = tokens[b];
                peer.Run();
                decodeDifference = MathF.Max(decodeDifference, MaxDifference(ours, peer.Logits));
                keys = peer.PresentKeys.Select(k => k.ToArray()).ToArray();
                values = peer.PresentValues.Select(k => k.ToArray()).ToArray();
            }

            float largest = ours.Max(MathF.Abs);
            agreed &= prefillDifference <= Tolerance && decodeDifference <= Tolerance;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batch}: max |ours − ONNX Runtime| prefill of {promptLength} tokens {prefillDifference:E2}, {steps} decode steps {decodeDifference:E2} (largest |logit| {largest:0.00}; tolerance {Tolerance:E0})"));
        }

        return agreed;
    }

    private static float MaxDifference(float[] a, float[] b)
    {
        float max = 0;
        for (int i = 0; i < a.Length; i++)
            max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        return max;
    }
}
