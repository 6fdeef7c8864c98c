using Microsoft.ML.OnnxRuntime;

namespace FixedShapeAttention.Benchmarks;

/// <summary>ONNX Runtime over a BERT model.onnx: input_ids, attention_mask, token_type_ids and last_hidden_state bound once (IOBinding).</summary>
public static class MiniLmOnnxRunner
{
    public static OnnxRuntimeRunner Create(byte[] model, int threads, long[] inputIds, long[] attentionMask, long[] tokenTypeIds, float[] lastHiddenState, int batch, int sequenceLength)
    {
        long[] tokens = { batch, sequenceLength };
        long[] hidden = { batch, sequenceLength, lastHiddenState.Length / (batch * sequenceLength) };
        return new OnnxRuntimeRunner(
            model,
            threads,
            new[]
            {
                ("input_ids", OrtValue.CreateTensorValueFromMemory(inputIds, tokens)),
                ("attention_mask", OrtValue.CreateTensorValueFromMemory(attentionMask, tokens)),
                ("token_type_ids", OrtValue.CreateTensorValueFromMemory(tokenTypeIds, tokens)),
            },
            ("last_hidden_state", OrtValue.CreateTensorValueFromMemory(lastHiddenState, hidden)));
    }
}
