using System;
using System.Collections.Generic;
using FixedShapeAttention.Training;
using Microsoft.ML.OnnxRuntime;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// One ONNX Runtime session of <see cref="OnnxDecoderGraph"/> for a fixed batch, token count and past length, with
/// every input and output bound once (IOBinding over arrays this runner owns), so <see cref="Run"/> is one call that
/// allocates nothing: ONNX Runtime at its best, as <see cref="OnnxRuntimeRunner"/> measures the attention graphs.
/// </summary>
public sealed class OnnxDecoderRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly List<OrtValue> _values = [];

    /// <param name="past">Cached tokens per sequence before this run; 0 builds the prefill graph (no past inputs).</param>
    public OnnxDecoderRunner(TransformerLanguageModel model, int threads, int batch, int tokens, int past)
    {
        LanguageModelConfig c = model.Config;
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(OnnxDecoderGraph.Build(model, withPast: past > 0), options);
        _binding = _session.CreateIoBinding();
        int cacheRow = c.Heads * c.HeadDim;
        InputIds = new long[batch * tokens];
        PositionIds = new long[batch * tokens];
        for (int i = 0; i < PositionIds.Length; i++)
            PositionIds[i] = past + i % tokens;
        Logits = new float[batch * c.Vocabulary];
        PastKeys = new float[c.Layers][];
        PastValues = new float[c.Layers][];
        PresentKeys = new float[c.Layers][];
        PresentValues = new float[c.Layers][];
        Bind("input_ids", InputIds, batch, tokens);
        Bind("position_ids", PositionIds, batch, tokens);
        BindOutput("logits", Logits, batch, 1, c.Vocabulary);
        for (int l = 0; l < c.Layers; l++)
        {
            PastKeys[l] = new float[batch * past * cacheRow];
            PastValues[l] = new float[batch * past * cacheRow];
            PresentKeys[l] = new float[batch * (past + tokens) * cacheRow];
            PresentValues[l] = new float[batch * (past + tokens) * cacheRow];
            if (past > 0)
            {
                Bind($"past_key_{l}", PastKeys[l], batch, c.Heads, past, c.HeadDim);
                Bind($"past_value_{l}", PastValues[l], batch, c.Heads, past, c.HeadDim);
            }

            BindOutput($"present_key_{l}", PresentKeys[l], batch, c.Heads, past + tokens, c.HeadDim);
            BindOutput($"present_value_{l}", PresentValues[l], batch, c.Heads, past + tokens, c.HeadDim);
        }
    }

    /// <summary>[batch, tokens] token ids, read by every run.</summary>
    public long[] InputIds { get; }

    /// <summary>[batch, tokens] positions, past + 0, 1, …</summary>
    public long[] PositionIds { get; }

    /// <summary>Per layer [batch, heads, past, headDim]: the cache a run reads.</summary>
    public float[][] PastKeys { get; }

    public float[][] PastValues { get; }

    /// <summary>Per layer [batch, heads, past + tokens, headDim]: the cache a run writes.</summary>
    public float[][] PresentKeys { get; }

    public float[][] PresentValues { get; }

    /// <summary>[batch, vocabulary]: the logits after each sequence's last token.</summary>
    public float[] Logits { get; }

    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    /// <summary>A decode step's runner whose past is <paramref name="past"/> tokens per sequence, filled by a prefill
    /// run of its own, with <paramref name="tokens"/> (one per sequence) bound as the step's input.</summary>
    public static OnnxDecoderRunner DecodeStep(TransformerLanguageModel model, int threads, ReadOnlySpan<int> tokens, int past)
    {
        LanguageModelConfig c = model.Config;
        int batch = tokens.Length;
        using var fill = new OnnxDecoderRunner(model, threads, batch, past, past: 0);
        for (int i = 0; i < fill.InputIds.Length; i++)
            fill.InputIds[i] = (i * 7 + 32) % c.Vocabulary;
        fill.Run();
        var step = new OnnxDecoderRunner(model, threads, batch, 1, past);
        for (int l = 0; l < c.Layers; l++)
        {
            fill.PresentKeys[l].CopyTo(step.PastKeys[l], 0);
            fill.PresentValues[l].CopyTo(step.PastValues[l], 0);
        }

        for (int b = 0; b < batch; b++)
            step.InputIds[b] = tokens[b];
        return step;
    }

    public void Dispose()
    {
        _binding.Dispose();
        foreach (OrtValue value in _values)
            value.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private void Bind<T>(string name, T[] data, params long[] dims)
        where T : unmanaged
    {
        var value = OrtValue.CreateTensorValueFromMemory(data, dims);
        _values.Add(value);
        _binding.BindInput(name, value);
    }

    private void BindOutput(string name, float[] data, params long[] dims)
    {
        var value = OrtValue.CreateTensorValueFromMemory(data, dims);
        _values.Add(value);
        _binding.BindOutput(name, value);
    }
}
