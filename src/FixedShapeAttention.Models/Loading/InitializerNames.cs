using System.IO;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// The names Hugging Face BERT exports give the embedding tables, biases and LayerNorm parameters
/// (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.0.attention.self.query.bias</c>, …), with the optional
/// prefix a wrapper module adds (<c>bert.</c>), and the number of layers found under <c>encoder.layer.N.</c>.
/// The projection matrices are not looked up by name: exports often call them <c>onnx::MatMul_123</c> or a bare
/// number, so <see cref="LinearPattern"/> finds each through the graph from its bias.
/// </summary>
internal sealed class InitializerNames
{
    private const string WordEmbeddingsSuffix = "embeddings.word_embeddings.weight";
    private const string LayersInfix = "encoder.layer.";

    private InitializerNames(string prefix, int layerCount)
    {
        Prefix = prefix;
        LayerCount = layerCount;
    }

    /// <summary>What precedes <c>embeddings.</c> and <c>encoder.</c> in every name: "" or e.g. "bert.".</summary>
    public string Prefix { get; }

    public int LayerCount { get; }

    public string Embeddings(string suffix) => $"{Prefix}embeddings.{suffix}";

    public string Layer(int layer, string suffix) => $"{Prefix}{LayersInfix}{layer}.{suffix}";

    public static InitializerNames Find(OnnxGraph graph)
    {
        string? prefix = null;
        foreach (string name in graph.InitializerNames)
        {
            if (!name.EndsWith(WordEmbeddingsSuffix, System.StringComparison.Ordinal))
                continue;
            string candidate = name[..^WordEmbeddingsSuffix.Length];
            if (candidate.Length > 0 && candidate[^1] != '.')
                continue;
            if (prefix is not null)
                throw new InvalidDataException($"two word-embedding tables: '{prefix}{WordEmbeddingsSuffix}' and '{name}'.");
            prefix = candidate;
        }

        if (prefix is null)
        {
            throw new InvalidDataException(
                $"no initializer named '{WordEmbeddingsSuffix}' (optionally prefixed, e.g. 'bert.{WordEmbeddingsSuffix}'): " +
                "not a BERT-style encoder exported with Hugging Face parameter names.");
        }

        // Layers are numbered 0…N-1 without gaps. Counting distinct indices (at most one per initializer) instead of
        // trusting the highest one keeps a name like "encoder.layer.2147483646.x" from sizing anything.
        string layersPrefix = prefix + LayersInfix;
        var layers = new HashSet<int>();
        foreach (string name in graph.InitializerNames)
        {
            if (!name.StartsWith(layersPrefix, System.StringComparison.Ordinal))
                continue;
            int end = name.IndexOf('.', layersPrefix.Length);
            string index = end < 0 ? name[layersPrefix.Length..] : name[layersPrefix.Length..end];
            if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
                throw new InvalidDataException($"initializer '{name}': '{index}' is not a layer index.");
            layers.Add(layer);
        }

        if (layers.Count == 0)
            throw new InvalidDataException($"no encoder layers: no initializer name starts with '{layersPrefix}'.");
        int layerCount = layers.Count;
        for (int layer = 0; layer < layerCount; layer++)
        {
            if (!layers.Contains(layer))
            {
                throw new InvalidDataException(
                    $"encoder layers are not numbered 0…{layerCount - 1}: there is no '{layersPrefix}{layer}.' but there is '{layersPrefix}{layers.Max()}.'.");
            }
        }

        return new InitializerNames(prefix, layerCount);
    }
}
