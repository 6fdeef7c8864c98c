using System;
using Microsoft.ML.OnnxRuntime;

namespace FixedShapeAttention.Benchmarks;

/// <summary>ONNX Runtime over a BERT model.onnx with input_ids, attention_mask, token_type_ids and last_hidden_state bound once (IOBinding).</summary>
public sealed class MiniLmOnnxRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[] _values;

    public MiniLmOnnxRunner(byte[] model, int threads, long[] inputIds, long[] attentionMask, long[] tokenTypeIds, float[] lastHiddenState, int batch, int sequenceLength)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(model, options);
        _binding = _session.CreateIoBinding();
        long[] tokens = { batch, sequenceLength };
        _values = new[]
        {
            OrtValue.CreateTensorValueFromMemory(inputIds, tokens),
            OrtValue.CreateTensorValueFromMemory(attentionMask, tokens),
            OrtValue.CreateTensorValueFromMemory(tokenTypeIds, tokens),
            OrtValue.CreateTensorValueFromMemory(lastHiddenState, new long[] { batch, sequenceLength, lastHiddenState.Length / (batch * sequenceLength) }),
        };
        _binding.BindInput("input_ids", _values[0]);
        _binding.BindInput("attention_mask", _values[1]);
        _binding.BindInput("token_type_ids", _values[2]);
        _binding.BindOutput("last_hidden_state", _values[3]);
    }

    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        foreach (OrtValue value in _values)
        {
            value.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
    }
}
