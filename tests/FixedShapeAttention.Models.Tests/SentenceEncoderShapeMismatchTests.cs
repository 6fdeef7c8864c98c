using System.IO;
using System.Linq;
using System.Text;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>A model whose layer shape is not the one MiniLmShape declares is refused with a message that says why.</summary>
public sealed class SentenceEncoderShapeMismatchTests
{
    [Fact]
    public void A_model_of_another_width_is_refused_naming_both_shapes()
    {
        var tiny = new TinyBertModel();
        BertWeights weights = OnnxBertLoader.Load(new MemoryStream(tiny.ToBytes()));
        string vocabulary = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n" + string.Join("\n", Enumerable.Range(0, TinyBertModel.Vocab - 4).Select(i => "w" + i));
        WordPieceTokenizer tokenizer = WordPieceTokenizer.FromVocab(new MemoryStream(Encoding.UTF8.GetBytes(vocabulary)));

        var ex = Assert.Throws<InvalidDataException>(() => SentenceEncoder.Create<MiniLmShape>(weights, tokenizer));
        Assert.Contains($"hidden size {TinyBertModel.Hidden}, {TinyBertModel.Heads} heads, FFN width {TinyBertModel.Ffn}", ex.Message, System.StringComparison.Ordinal);
        Assert.Contains("MiniLmShape declares [SentenceEncoderShape(384, 12, 1536, MaxLength = 256)]", ex.Message, System.StringComparison.Ordinal);
    }
}
