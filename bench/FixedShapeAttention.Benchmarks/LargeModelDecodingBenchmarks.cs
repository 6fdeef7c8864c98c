using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// <see cref="DecodeStepBenchmarks"/> on a model whose weights do not fit the cache (GPT-2-small's layers: dim 768, 12
/// heads, FFN 3072, 6 layers, 171 MB of weights, byte vocabulary, tied head; five times the 32 MiB L3), so every step
/// streams its weights from DRAM; one thread. <c>-- decode-bandwidth</c> measures the same step against the DRAM read
/// bandwidth.
/// </summary>
public class LargeModelDecodingBenchmarks : DecodeStepBenchmarks
{
    /// <summary>The model: GPT-2-small's layers on a byte vocabulary.</summary>
    public static readonly LanguageModelConfig Model = new()
    {
        Vocabulary = 256, SequenceLength = 128, Dim = 768, Heads = 12, Ffn = 3072, Layers = 6,
    };

    /// <summary>The benchmark's model with GPT-2's initialisation from seed 3.</summary>
    public static TransformerLanguageModel CreateModel()
    {
        var model = new TransformerLanguageModel(Model);
        model.Initialize(3);
        return model;
    }

    protected override TransformerLanguageModel CreateBenchmarkModel() => CreateModel();
}
