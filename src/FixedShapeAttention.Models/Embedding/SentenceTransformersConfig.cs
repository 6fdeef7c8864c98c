using System;
using System.IO;
using System.Text.Json;

namespace FixedShapeAttention.Models;

/// <summary>
/// What a sentence-transformers model directory says about running the encoder: modules.json (the module list: a
/// Transformer, then Pooling and optionally Normalize), the Pooling module's config.json, sentence_bert_config.json
/// (max_seq_length) and the tokenizer's tokenizer_config.json (do_lower_case). Every value is null when its file is
/// absent; a file that is present but malformed, or that asks for something this library does not run (a Dense
/// layer, mean-sqrt-length pooling, several poolings concatenated), throws <see cref="InvalidDataException"/>.
/// </summary>
internal sealed record SentenceTransformersConfig(SentencePooling? Pooling, bool? Normalize, int? MaxSeqLength, bool? LowercaseInput, int? PoolingDimension)
{
    public static SentenceTransformersConfig None { get; } = new(null, null, null, null, null);

    private const string TransformerModule = "sentence_transformers.models.Transformer";
    private const string PoolingModule = "sentence_transformers.models.Pooling";
    private const string NormalizeModule = "sentence_transformers.models.Normalize";

    public static SentenceTransformersConfig Read(string directory)
    {
        SentencePooling? pooling = null;
        bool? normalize = null;
        int? dimension = null;
        string modulesPath = Path.Combine(directory, "modules.json");
        if (File.Exists(modulesPath))
        {
            normalize = false;
            using JsonDocument modules = Parse(modulesPath);
            if (modules.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"{modulesPath}: expected a JSON array of modules, got {modules.RootElement.ValueKind}.");
            }

            foreach (JsonElement module in modules.RootElement.EnumerateArray())
            {
                string type = String(module, "type", modulesPath) ?? "";
                switch (type)
                {
                    case TransformerModule:
                        break;
                    case NormalizeModule:
                        normalize = true;
                        break;
                    case PoolingModule:
                        (pooling, dimension) = ReadPooling(Path.Combine(directory, ModuleDirectory(module, modulesPath), "config.json"));
                        break;
                    default:
                        throw new InvalidDataException(
                            $"{modulesPath}: module '{type}' is not supported; this library runs {TransformerModule}, {PoolingModule} and {NormalizeModule} only.");
                }
            }
        }

        int? maxSeqLength = null;
        string sentenceBertPath = Path.Combine(directory, "sentence_bert_config.json");
        if (File.Exists(sentenceBertPath))
        {
            using JsonDocument document = Parse(sentenceBertPath);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("max_seq_length", out JsonElement max))
            {
                if (max.ValueKind != JsonValueKind.Number || !max.TryGetInt32(out int value) || value < 2)
                {
                    throw new InvalidDataException($"{sentenceBertPath}: max_seq_length must be an integer of at least 2, got {max.GetRawText()}.");
                }

                maxSeqLength = value;
            }
        }

        bool? lowercase = null;
        string tokenizerPath = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerPath))
        {
            using JsonDocument document = Parse(tokenizerPath);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("do_lower_case", out JsonElement flag))
            {
                lowercase = Bool(flag, "do_lower_case", tokenizerPath);
            }
        }

        return new SentenceTransformersConfig(pooling, normalize, maxSeqLength, lowercase, dimension);
    }

    /// <summary>The module's folder, e.g. "1_Pooling": one relative path segment, so a hostile file cannot point outside the model directory.</summary>
    private static string ModuleDirectory(JsonElement module, string modulesPath)
    {
        string path = String(module, "path", modulesPath) ?? "";
        if (path.Length == 0 || path == "." || path == ".." || path.IndexOfAny(new[] { '/', '\\', ':' }) >= 0 || Path.IsPathRooted(path))
        {
            throw new InvalidDataException($"{modulesPath}: the Pooling module's path must be a folder name inside the model directory, got '{path}'.");
        }

        return path;
    }

    private static (SentencePooling Pooling, int? Dimension) ReadPooling(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"modules.json lists a Pooling module, but its configuration {path} does not exist.");
        }

        using JsonDocument document = Parse(path);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: expected a JSON object, got {root.ValueKind}.");
        }

        foreach (string unsupported in new[] { "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken" })
        {
            if (root.TryGetProperty(unsupported, out JsonElement flag) && Bool(flag, unsupported, path))
            {
                throw new InvalidDataException($"{path}: {unsupported} is true; this library pools by mean, CLS or max only.");
            }
        }

        SentencePooling? chosen = null;
        foreach ((string key, SentencePooling mode) in new[] { ("pooling_mode_mean_tokens", SentencePooling.Mean), ("pooling_mode_cls_token", SentencePooling.Cls), ("pooling_mode_max_tokens", SentencePooling.Max) })
        {
            if (root.TryGetProperty(key, out JsonElement flag) && Bool(flag, key, path))
            {
                if (chosen is not null)
                {
                    throw new InvalidDataException($"{path}: more than one pooling mode is true ({chosen} and {mode}); concatenated poolings are not supported.");
                }

                chosen = mode;
            }
        }

        if (chosen is null)
        {
            throw new InvalidDataException($"{path}: no pooling mode is true; expected one of pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_max_tokens.");
        }

        int? dimension = null;
        if (root.TryGetProperty("word_embedding_dimension", out JsonElement width))
        {
            if (width.ValueKind != JsonValueKind.Number || !width.TryGetInt32(out int value) || value < 1)
            {
                throw new InvalidDataException($"{path}: word_embedding_dimension must be a positive integer, got {width.GetRawText()}.");
            }

            dimension = value;
        }

        return (chosen.Value, dimension);
    }

    private static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
    }

    private static string? String(JsonElement element, string name, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: expected each module to be a JSON object, got {element.ValueKind}.");
        }

        if (!element.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new InvalidDataException($"{path}: '{name}' must be a string, got {value.GetRawText()}.");
    }

    private static bool Bool(JsonElement value, string name, string path) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new InvalidDataException($"{path}: '{name}' must be true or false, got {value.GetRawText()}."),
    };
}
